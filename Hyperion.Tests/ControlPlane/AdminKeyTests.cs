using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

[Collection(HyperionAppCollection.Name)]
public sealed class AdminKeyTests(HyperionAppFixture hyperion)
{
    [Fact]
    public void Bootstrap_admin_key_is_written_owner_only()
    {
        var path = Path.Combine(hyperion.StateDirectory, "admin-key");
        Assert.True(ApiKeyFormat.LooksLikeKey(hyperion.AdminKey), "admin-key must hold one hyp_ key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task Api_without_a_key_is_refused_with_a_problem_that_says_what_to_send()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        using var response = await client.GetAsync("/api/v1/whoami");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("Authorization: Bearer", problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_made_up_key_is_refused()
    {
        using var client = hyperion.CreateApiClient(key: ApiKeyFormat.Generate());
        using var response = await client.GetAsync("/api/v1/whoami");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("unknown, revoked or expired", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_admin_key_authenticates_with_the_admin_scope()
    {
        using var client = hyperion.CreateApiClient();
        using var response = await client.GetAsync("/api/v1/whoami");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("bootstrap-admin", body.RootElement.GetProperty("name").GetString());
        Assert.Equal(["admin"], body.RootElement.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));
    }

    [Fact]
    public async Task OpenApi_document_is_served_without_a_key()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        using var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString());
    }
}
