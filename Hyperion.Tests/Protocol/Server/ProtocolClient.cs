using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>Small helpers for talking OIP REST to the server under test.</summary>
internal static class ProtocolClient
{
    public static async Task<(HttpResponseMessage Response, JsonDocument Body)> PostJsonAsync(HttpClient http, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await http.PostAsync(path, content);
        var body = await response.Content.ReadAsByteArrayAsync();
        return (response, JsonDocument.Parse(body));
    }

    public static async Task<(HttpResponseMessage Response, JsonDocument Body)> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsByteArrayAsync();
        return (response, JsonDocument.Parse(body));
    }

    /// <summary>Posts Triton's binary form: the JSON header, then the tensors' bytes.</summary>
    public static async Task<BinaryAnswer> PostBinaryAsync(HttpClient http, string path, string jsonHeader, params byte[][] tensors)
    {
        var header = Encoding.UTF8.GetBytes(jsonHeader);
        var body = new List<byte>(header);
        foreach (var tensor in tensors)
        {
            body.AddRange(tensor);
        }
        using var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString());
        var response = await http.PostAsync(path, content);
        return await BinaryAnswer.ReadAsync(response);
    }

    /// <summary>An answer split at its Inference-Header-Content-Length (the whole body is JSON when the header is absent).</summary>
    public sealed record BinaryAnswer(HttpResponseMessage Response, JsonDocument Json, byte[] Binary)
    {
        public static async Task<BinaryAnswer> ReadAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            var jsonLength = response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
                ? int.Parse(values.Single())
                : body.Length;
            return new BinaryAnswer(response, JsonDocument.Parse(body.AsMemory(0, jsonLength)), body[jsonLength..]);
        }

        /// <summary>The raw bytes of the named binary output, located by the binary_data_size of the outputs before it.</summary>
        public byte[] OutputBytes(string name)
        {
            var offset = 0;
            foreach (var output in Json.RootElement.GetProperty("outputs").EnumerateArray())
            {
                if (!output.TryGetProperty("parameters", out var parameters) || !parameters.TryGetProperty("binary_data_size", out var sizeElement))
                {
                    continue;
                }
                var size = sizeElement.GetInt32();
                if (output.GetProperty("name").GetString() == name)
                {
                    return Binary[offset..(offset + size)];
                }
                offset += size;
            }
            throw new InvalidOperationException($"no binary output '{name}'");
        }
    }

    public static JsonElement Output(this JsonDocument response, string name) =>
        response.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

    public static string Error(this JsonDocument body) => body.RootElement.GetProperty("error").GetString()!;
}
