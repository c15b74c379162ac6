using System.Text.Json;

namespace Hyperion.Orchestrator.Captures;

/// <summary><c>GET /api/v1/models/{m}/captures</c>: the model's newest captures first.</summary>
internal sealed record CapturesView(string Model, IReadOnlyList<CaptureView> Captures);

/// <param name="Inputs">Tensors by name, each <c>{"datatype", "shape", "data": [flat, row-major]}</c>, redacted names left out.</param>
/// <param name="Payload">The whole request and response (<c>{"request", "response"}</c>), only when the deployment captures payloads.</param>
internal sealed record CaptureView(
    long Version,
    string Arm,
    string RequestId,
    string? OipId,
    DateTimeOffset CapturedAt,
    int Rows,
    JsonElement Inputs,
    JsonElement Outputs,
    JsonElement? Payload);
