using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Files and calls the registry tests share: models from testdata/, the digits sample's lineage and profile.</summary>
internal static class RegistryTestData
{
    public static byte[] Model(string name) => File.ReadAllBytes(TestPaths.Model(name));

    public static byte[] Digits => Model("digits");

    public static string Lineage => File.ReadAllText(TestPaths.Sample("digits", "lineage.json"));

    public static string BaselineProfile => File.ReadAllText(TestPaths.Sample("digits", "baseline_profile.json"));

    public static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A model name no other test uses.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 128)];

    public static async Task CreateModelAsync(HttpClient client, string name, string task = "classification", object? tags = null)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/models", new { name, task, description = "test model", tags = tags ?? new { } });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"creating {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static MultipartFormDataContent Upload(byte[] artifact, string? config = null, string? lineage = null, string? baselineProfile = null)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(artifact);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "artifact", "model.onnx");
        if (config is not null)
        {
            form.Add(new StringContent(config, Encoding.UTF8, "application/json"), "config");
        }
        if (lineage is not null)
        {
            form.Add(new StringContent(lineage, Encoding.UTF8, "application/json"), "lineage");
        }
        if (baselineProfile is not null)
        {
            form.Add(new StringContent(baselineProfile, Encoding.UTF8, "application/json"), "baseline_profile");
        }
        return form;
    }

    public static async Task<JsonElement> UploadOkAsync(HttpClient client, string model, byte[] artifact, string? config = null, string? lineage = null, string? baselineProfile = null)
    {
        using var form = Upload(artifact, config, lineage, baselineProfile);
        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"uploading to {model}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The problem's detail, after checking status and media type.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<long[]> VersionNumbersAsync(HttpClient client, string model)
    {
        using var versions = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions"));
        return [.. versions.RootElement.EnumerateArray().Select(v => v.GetProperty("version").GetInt64())];
    }
}
