using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Hyperion.Benchmarks.Load;

/// <summary>OIP V2 requests with fixed pseudo-random rows, so every run sends the same bytes.</summary>
public static class RequestBodies
{
    public const string InferenceHeaderContentLength = "Inference-Header-Content-Length";

    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary>A JSON request with the rows in <c>data</c>.</summary>
    public static RequestBody Json(string inputName, int batch, int features, int seed) =>
        Json(inputName, batch, features, Rows(batch, features, seed));

    /// <summary>A JSON request carrying <paramref name="rows"/> (<paramref name="batch"/> × <paramref name="features"/> values).</summary>
    public static RequestBody Json(string inputName, int batch, int features, float[] rows)
    {
        var json = new StringBuilder(64 + (rows.Length * 8));
        json.Append(CultureInfo.InvariantCulture, $$"""{"inputs":[{"name":"{{inputName}}","shape":[{{batch}},{{features}}],"datatype":"FP32","data":[""");
        for (var i = 0; i < rows.Length; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            json.Append(rows[i].ToString("R", CultureInfo.InvariantCulture));
        }

        json.Append("]}]}");
        return new RequestBody("json", Encoding.UTF8.GetBytes(json.ToString()), "application/json", NoHeaders);
    }

    /// <summary>
    /// Triton's binary tensor extension: a JSON header naming the input's byte size, the raw
    /// little-endian floats after it, and the output asked for as binary too.
    /// </summary>
    public static RequestBody Binary(string inputName, string outputName, int batch, int features, int seed) =>
        Binary(inputName, [outputName], batch, features, Rows(batch, features, seed));

    /// <summary>The binary extension carrying <paramref name="rows"/>, asking for each of <paramref name="outputNames"/> in binary.</summary>
    public static RequestBody Binary(string inputName, IReadOnlyList<string> outputNames, int batch, int features, float[] rows)
    {
        var outputs = string.Join(',', outputNames.Select(name => $$$"""{"name":"{{{name}}}","parameters":{"binary_data":true}}"""));
        var header = Encoding.UTF8.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $$$"""{"inputs":[{"name":"{{{inputName}}}","shape":[{{{batch}}},{{{features}}}],"datatype":"FP32","parameters":{"binary_data_size":{{{rows.Length * sizeof(float)}}}}}],"outputs":[{{{outputs}}}]}"""));
        var body = new byte[header.Length + (rows.Length * sizeof(float))];
        header.CopyTo(body, 0);
        for (var i = 0; i < rows.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(header.Length + (i * sizeof(float))), rows[i]);
        }

        return new RequestBody(
            "binary",
            body,
            "application/octet-stream",
            new Dictionary<string, string> { [InferenceHeaderContentLength] = header.Length.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>Values in [-1, 1] with four decimals, so JSON and binary carry the same numbers.</summary>
    public static float[] Rows(int batch, int features, int seed)
    {
        var random = new Random(seed);
        var rows = new float[batch * features];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = (float)Math.Round((random.NextDouble() * 2) - 1, 4);
        }

        return rows;
    }
}
