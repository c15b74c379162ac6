namespace Hyperion.Tests.TestSupport;

/// <summary>Files the repository ships for tests: testdata/models, testdata/torchscript and samples/.</summary>
public static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>testdata/models/&lt;model&gt;/&lt;version&gt;/model.onnx</summary>
    public static string Model(string model, int version = 1) =>
        Path.Combine(RepositoryRoot, "testdata", "models", model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx");

    /// <summary>testdata/torchscript/&lt;model&gt;/&lt;file&gt;, e.g. ("ts_fp32", "1/model.pt") or ("ts_fp32", "config.json").</summary>
    public static string TorchScript(string model, string file) => Path.Combine(RepositoryRoot, "testdata", "torchscript", model, file);

    /// <summary>samples/&lt;sample&gt;/&lt;file&gt;</summary>
    public static string Sample(string sample, string file) => Path.Combine(RepositoryRoot, "samples", sample, file);

    /// <summary>
    /// The AppHost as <c>./build.sh run</c> starts it: its own build output (the test project's copy of it lacks what
    /// Aspire's SDK puts beside an AppHost), in the configuration the tests were built in.
    /// </summary>
    public static string AppHostAssembly { get; } = Path.Combine(RepositoryRoot, "Hyperion.AppHost", "bin",
        typeof(TestPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().Single().Configuration,
        "net10.0", "Hyperion.AppHost.dll");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Hyperion.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("Hyperion.sln not found above " + AppContext.BaseDirectory);
    }
}
