using System.Globalization;
using System.Text;

namespace Hyperion.Benchmarks.Load;

/// <summary>OIP V2 JSON requests with fixed pseudo-random rows, so every run sends the same bytes.</summary>
public static class RequestBodies
{
    public static byte[] Infer(string inputName, int batch, int features, int seed)
    {
        var random = new Random(seed);
        var json = new StringBuilder(64 + (batch * features * 8));
        json.Append(CultureInfo.InvariantCulture, $$"""{"inputs":[{"name":"{{inputName}}","shape":[{{batch}},{{features}}],"datatype":"FP32","data":[""");
        for (var i = 0; i < batch * features; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            json.Append(Math.Round((random.NextDouble() * 2) - 1, 4).ToString("R", CultureInfo.InvariantCulture));
        }

        json.Append("]}]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

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
