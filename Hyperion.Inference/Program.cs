using Hyperion.Inference;
using Hyperion.Inference.ControlPlane;
using Hyperion.Inference.Protocol;

var builder = WebApplication.CreateBuilder(args);

// Triton-style switches for standalone mode: --model-repository DIR [--grpc-url http://127.0.0.1:8001].
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--model-repository"] = "Inference:ModelRepository",
    ["--grpc-url"] = "Inference:GrpcUrl",
});

builder.AddServiceDefaults();
builder.Services.AddInferenceEngine(builder.Configuration);
builder.AddInferenceProtocols();
// Only when the orchestrator is named (the AppHost does); standalone mode serves its folder as before.
builder.AddControlPlaneAgent();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapInferenceProtocols();
app.Run();
