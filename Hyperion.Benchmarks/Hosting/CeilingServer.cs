using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>
/// The HTTP ceiling: bare Kestrel that accepts the same OIP JSON POST, reads the whole body and
/// answers a fixed response shaped like mlp_small's, so served ÷ ceiling isolates what the
/// inference server adds on top of HTTP.
/// </summary>
public static class CeilingServer
{
    public const string Command = "ceiling";

    private static readonly byte[] Response = Encoding.UTF8.GetBytes(
        """{"model_name":"mlp_small","model_version":"1","outputs":[{"name":"logits","shape":[1,10],"datatype":"FP32","data":[0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]}]}""");

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();

        app.MapGet("/v2/health/ready", () => Results.Ok());
        app.MapPost("/v2/models/{model}/infer", async (HttpContext context) =>
        {
            var reader = context.Request.BodyReader;
            while (true)
            {
                var read = await reader.ReadAsync(context.RequestAborted);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Response.Length;
            await context.Response.Body.WriteAsync(Response, context.RequestAborted);
        });

        await app.RunAsync();
    }
}
