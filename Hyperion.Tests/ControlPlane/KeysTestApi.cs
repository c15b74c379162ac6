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

    public static async Task<IssuedKey> CreateKeyAsync(this HyperionAppFixture hyperion, string[] scopes, DateTimeOffset? expiresAt = null, string? name = null)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsJsonAsync("/api/v1/keys", new Dictionary<string, object?>
        {
            ["name"] = name ?? $"test-{Guid.NewGuid():N}",
            ["scopes"] = scopes,
            ["expires_at"] = expiresAt,
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /api/v1/keys: {(int)response.StatusCode} {text}");
        var body = JsonDocument.Parse(text).RootElement.Clone();
        return new IssuedKey(body.GetProperty("id").GetGuid(), body.GetProperty("key").GetString()!, body);
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
