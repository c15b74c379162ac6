using Hyperion.Contracts.Inference;
using Hyperion.Inference.Serving;

namespace Hyperion.Tests.Engine;

/// <summary>
/// TorchScript models (platform pytorch_libtorch) answer exactly as PyTorch did when it wrote them
/// (testdata/torchscript/expected.json), for every datatype both sides support, batched and row by row.
/// </summary>
public sealed class TorchScriptBackendTests : IAsyncLifetime
{
    private readonly TestRepository _repository = new();
    private EngineHost _engine = null!;

    public static TheoryData<string> Models => [.. TorchScriptCases.Models];

    public async Task InitializeAsync()
    {
        foreach (var model in TorchScriptCases.Models)
        {
            _repository.AddTorchScript(model);
        }
        _engine = await EngineHost.StartAsync(_repository.Path);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        _repository.Dispose();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task A_whole_request_answers_as_pytorch(string model)
    {
        var inputs = TorchScriptCases.Inputs(model).Select(input => input.ToTensor()).ToArray();
        using var request = Tensors.Request(model, inputs);
        using var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);

        foreach (var expected in TorchScriptCases.Outputs(model))
        {
            var served = response.Output(expected.Name);
            Assert.Equal(expected.DataType, served.DataType);
            Assert.Equal(expected.Shape, served.Shape);
            expected.AssertEqual(expected.Expected(), TensorCase.Read(served.DataType, served.Span));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Rows_sent_at_once_as_separate_requests_are_batched_and_each_answers_as_pytorch(string model)
    {
        var description = _engine.Catalog.Describe(model, null);
        if (description.Config.MaxBatchSize == 0)
        {
            // No batch dimension: rows are not requests of their own (the whole-request case covers it).
            Assert.Equal("ts_fixed", model);
            return;
        }
        var rows = (int)TorchScriptCases.Inputs(model).First().Rows;
        var answers = await Task.WhenAll(Enumerable.Range(0, rows).Select(async row =>
        {
            using var request = Tensors.Request(model, [.. TorchScriptCases.Inputs(model).Select(input => input.ToTensor(row, 1))]);
            var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);
            return (Row: row, Response: response);
        }));

        foreach (var (row, response) in answers)
        {
            using (response)
            {
                foreach (var expected in TorchScriptCases.Outputs(model))
                {
                    var served = response.Output(expected.Name);
                    Assert.Equal([1L, .. expected.Shape[1..]], served.Shape);
                    expected.AssertEqual(expected.Expected(row, 1), TensorCase.Read(served.DataType, served.Span));
                }
            }
        }
    }

    [Fact]
    public void The_metadata_names_the_platform_and_keeps_the_configs_tensors_in_its_order()
    {
        var description = _engine.Catalog.Describe("ts_two_outputs", null);

        Assert.Equal("pytorch_libtorch", description.Config.Platform);
        Assert.Equal(4, description.Config.MaxBatchSize);
        Assert.Equal(["INPUT__0", "INPUT__1"], description.Config.Input.Select(input => input.Name));
        Assert.Equal(["OUTPUT__1", "OUTPUT__0"], description.Config.Output.Select(output => output.Name));
        Assert.All(_engine.Catalog.Index(), entry => Assert.Equal(ModelVersionState.Ready, entry.State));
    }
}
