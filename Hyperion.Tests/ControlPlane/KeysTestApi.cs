using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Issues keys through the real API, the way a user would, for the keys and audit tests.</summary>
internal static class KeysTestApi
{
    public sealed record IssuedKey(Guid Id, string Key, JsonElement Body);

    /// <param name="team">The key's team (it then acts only on that team's models); left out when null.</param>
    public static async Task<IssuedKey> CreateKeyAsync(this HyperionAppFixture hyperion, string[] scopes, DateTimeOffset? expiresAt = null, string? name = null, string? team = null)
    {
        using var admin = hyperion.CreateApiClient();
        var body = new Dictionary<string, object?>
        {
            ["name"] = name ?? $"test-{Guid.NewGuid():N}",
            ["scopes"] = scopes,
            ["expires_at"] = expiresAt,
        };
        if (team is not null)
        {
            body["team"] = team;
        }
        using var response = await admin.PostAsJsonAsync("/api/v1/keys", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /api/v1/keys: {(int)response.StatusCode} {text}");
        var created = JsonDocument.Parse(text).RootElement.Clone();
        return new IssuedKey(created.GetProperty("id").GetGuid(), created.GetProperty("key").GetString()!, created);
    }

    /// <summary>Creates a team with a unique name (admin); returns the name.</summary>
    public static async Task<string> CreateTeamAsync(this HyperionAppFixture hyperion, string prefix)
    {
        var name = RegistryTestData.UniqueName(prefix);
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsync("/api/v1/teams", Json($$"""{"name": "{{name}}"}"""));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /api/v1/teams: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return name;
    }

    /// <summary>Moves <paramref name="model"/> to <paramref name="team"/> (admin).</summary>
    public static async Task SetModelTeamAsync(this HyperionAppFixture hyperion, string model, string team)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PutAsync($"/api/v1/models/{model}/team", Json($$"""{"team": "{{team}}"}"""));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /api/v1/models/{model}/team: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Asserts a problem+json answer with <paramref name="status"/>; returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        return problem.RootElement.GetProperty("detail").GetString()!;
    }
}
