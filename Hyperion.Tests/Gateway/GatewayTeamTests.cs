using System.Net;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// Issue 18 item 4 at the gateway: a team's key calls its team's models and is refused (403, naming both teams and the
/// model) on another team's, on every replica, as soon as the model's team is set; keys without a team are unaffected.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayTeamTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task A_team_key_infers_on_its_team_model_and_is_refused_on_another_team_model()
    {
        var vision = await hyperion.CreateTeamAsync("vision");
        var nlp = await hyperion.CreateTeamAsync("nlp");
        var own = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "team-own");
        var theirs = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "team-theirs");
        await hyperion.SetModelTeamAsync(own, vision);
        await hyperion.SetModelTeamAsync(theirs, nlp);
        var visionKey = await hyperion.CreateKeyAsync([Scopes.Infer], team: vision);
        var plainKey = await hyperion.CreateKeyAsync([Scopes.Infer]);

        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var gateway = hyperion.CreateGatewayClient(visionKey.Key, replica);
            // The team changes reach the gateway by a routing notice: wait for the later one rather than for a fixed time.
            string? error = null;
            await WaitUntilAsync(async () =>
            {
                using var refused = await InferAsync(gateway, theirs);
                error = refused.StatusCode == HttpStatusCode.Forbidden ? await AssertOipErrorAsync(refused, HttpStatusCode.Forbidden) : null;
                return error?.Contains($"team '{nlp}'", StringComparison.Ordinal) == true;
            }, TimeSpan.FromSeconds(30), $"gateway {replica} knowing model '{theirs}' is team '{nlp}''s");
            Assert.Contains($"the key belongs to team '{vision}'", error);
            Assert.Contains($"model '{theirs}'", error);
            using var allowed = await InferAsync(gateway, own);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);

            using var plain = hyperion.CreateGatewayClient(plainKey.Key, replica);
            using var ownPlain = await InferAsync(plain, own);
            Assert.Equal(HttpStatusCode.OK, ownPlain.StatusCode);
            using var theirsPlain = await InferAsync(plain, theirs);
            Assert.Equal(HttpStatusCode.OK, theirsPlain.StatusCode);
        }
    }
}
