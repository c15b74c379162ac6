using System.Net;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>API keys and JWTs at the gateway: 401 without or with a bad credential, 403 without the scope, revocation within seconds.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayAuthTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Inference_without_a_credential_is_401_in_OIP_form_with_a_challenge()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var anonymous = hyperion.CreateHttpClient("gateway");
        using var response = await InferAsync(anonymous, model);
        var error = await AssertOipErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("Authorization: Bearer", error);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Unknown_and_malformed_keys_are_401()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var unknown = await InferAsync(hyperion.CreateGatewayClient(ApiKeyFormat.Generate()), model);
        Assert.Contains("unknown, revoked or expired", await AssertOipErrorAsync(unknown, HttpStatusCode.Unauthorized));
        using var malformed = await InferAsync(hyperion.CreateGatewayClient("hyp_short"), model);
        Assert.Contains("malformed", await AssertOipErrorAsync(malformed, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_key_scoped_to_one_model_calls_only_that_model()
    {
        var allowed = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        var other = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        var key = await hyperion.CreateKeyAsync([Scopes.InferModel(allowed)]);
        using var gateway = hyperion.CreateGatewayClient(key.Key);

        using var ok = await InferAsync(gateway, allowed);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var forbidden = await InferAsync(gateway, other);
        var error = await AssertOipErrorAsync(forbidden, HttpStatusCode.Forbidden);
        Assert.Contains($"infer:{other}", error);
        using var repository = await gateway.PostAsync("/v2/repository/index", null);
        Assert.Contains("'admin'", await AssertOipErrorAsync(repository, HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_within_seconds_on_every_gateway_replica()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        var key = await hyperion.CreateKeyAsync([Scopes.Infer]);
        var gateways = Enumerable.Range(0, hyperion.Gateways).Select(replica => hyperion.CreateGatewayClient(key.Key, replica)).ToList();
        foreach (var gateway in gateways)
        {
            using var before = await InferAsync(gateway, model);
            Assert.Equal(HttpStatusCode.OK, before.StatusCode); // now cached for 30 s on each replica
        }

        using var admin = hyperion.CreateApiClient();
        using (var revoke = await admin.DeleteAsync($"/api/v1/keys/{key.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }
        var revokedAt = DateTime.UtcNow;
        foreach (var gateway in gateways)
        {
            await WaitUntilAsync(async () =>
            {
                using var after = await InferAsync(gateway, model);
                return after.StatusCode == HttpStatusCode.Unauthorized;
            }, TimeSpan.FromSeconds(5), "the revoked key refused");
        }
        Assert.True(DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(5));
        gateways.ForEach(gateway => gateway.Dispose());
    }

    [Fact]
    public async Task A_JWT_from_the_configured_issuer_is_accepted_with_its_scopes()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var scoped = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("alice", $"{Scopes.InferModel(model)} something-else"));
        using var ok = await InferAsync(scoped, model);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var unscoped = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("bob", Scopes.Deploy));
        Assert.Contains($"infer:{model}", await AssertOipErrorAsync(await InferAsync(unscoped, model), HttpStatusCode.Forbidden));

        using var forged = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("mallory", Scopes.Admin, signingKey: "another-signing-key-of-32-bytes-or-more"));
        Assert.Contains("JWT is not valid", await AssertOipErrorAsync(await InferAsync(forged, model), HttpStatusCode.Unauthorized));

        using var wrongAudience = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("eve", Scopes.Admin, audience: "someone-else"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await InferAsync(wrongAudience, model)).StatusCode);
    }

    [Fact]
    public async Task A_JWT_works_end_to_end_on_the_control_plane_through_the_gateway()
    {
        using var deployer = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("ci-bot", $"{Scopes.Deploy} {Scopes.Infer}"));
        using var whoami = await deployer.GetAsync("/api/v1/whoami");
        var body = await JsonAsync(whoami);
        Assert.Equal(["deploy", "infer"], body.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("token:ci-bot", body.GetProperty("actor").GetString());

        using var models = await deployer.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        using var keys = await deployer.PostAsync("/api/v1/keys", KeysTestApi.Json("""{"name": "x", "scopes": ["infer"]}"""));
        Assert.Equal(HttpStatusCode.Forbidden, keys.StatusCode); // keys need admin
        using var forged = hyperion.CreateGatewayClient(GatewayFixture.CreateJwt("m", Scopes.Admin, signingKey: "another-signing-key-of-32-bytes-or-more"));
        Assert.Contains("JWT is not valid", await KeysTestApi.AssertProblemAsync(await forged.GetAsync("/api/v1/whoami"), HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Health_and_metadata_are_anonymous_when_configured_but_inference_is_not()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var anonymous = hyperion.CreateHttpClient("gateway");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/v2")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"/v2/models/{model}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await InferAsync(anonymous, model)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/v2/repository/index", null)).StatusCode);
    }
}
