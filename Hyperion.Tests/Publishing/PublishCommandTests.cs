using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.Publishing;

/// <summary>The <c>publish</c> verb as users type it: wrong input gets a usage message, right input writes the files.</summary>
public sealed class PublishCommandTests : IDisposable
{
    private readonly TemporaryDirectory _output = new("hyperion-publish-cli");

    public void Dispose() => _output.Dispose();

    [Theory]
    [InlineData(new string[0], "--output-path DIR is required")]
    [InlineData(new[] { "--output-path", "OUT", "--regsitry", "ghcr.io/acme" }, "unknown option '--regsitry'")]
    [InlineData(new[] { "--output-path", "OUT", "--registry", "Not A Registry" }, "--registry must be a registry host")]
    [InlineData(new[] { "--output-path", "OUT", "--tag", "-dev" }, "--tag must be letters, digits")]
    [InlineData(new[] { "--output-path", "OUT", "--namespace", "Hyperion_Prod" }, "--namespace must be a DNS label")]
    public void Bad_arguments_are_a_usage_error_that_says_what_is_expected(string[] args, string expected)
    {
        var result = AppHostPublish.Run([.. args.Select(a => a == "OUT" ? _output.Path : a)]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.Contains("usage: dotnet run --project Hyperion.AppHost -- publish --output-path DIR", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_output.Path));
    }

    [Fact]
    public void A_graph_setting_that_is_wrong_stops_publishing_before_anything_is_written()
    {
        var result = AppHostPublish.Run("--output-path", _output.Path, "--Hyperion:InferenceReplicas=99");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Invalid settings in section 'Hyperion'", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_output.Path));
    }

    [Fact]
    public void The_AppHost_publishes_from_its_command_line()
    {
        var result = AppHostPublish.Run("--output-path", _output.Path, "--tag", "2024.1");

        Assert.True(result.ExitCode == 0, result.Everything);
        Assert.Contains($"Published manifest to: {Path.Combine(_output.Path, "aspire-manifest.json")}", result.Output);
        Assert.True(File.Exists(Path.Combine(_output.Path, "k8s", "base", "kustomization.yaml")));
        Assert.Contains("image: localhost:5000/hyperion/gateway:2024.1", File.ReadAllText(Path.Combine(_output.Path, "k8s", "base", "gateway.yaml")));
    }

    [Fact]
    public void Republishing_keeps_the_env_files_an_operator_filled_in()
    {
        Assert.Equal(0, AppHostPublish.Run("--output-path", _output.Path).ExitCode);
        var filled = Path.Combine(_output.Path, "k8s", "overlays", "dev", "parameters.env");
        File.WriteAllText(filled, "cache-password=operator-chosen\npg-password=operator-chosen\n");

        Assert.Equal(0, AppHostPublish.Run("--output-path", _output.Path).ExitCode);

        Assert.Equal("cache-password=operator-chosen\npg-password=operator-chosen\n", File.ReadAllText(filled));
        Assert.Contains("cache-password=\n", File.ReadAllText(filled + ".example"));
    }
}
