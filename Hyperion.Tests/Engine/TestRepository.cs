namespace Hyperion.Tests.Engine;

/// <summary>A throw-away Triton-layout repository in the temp directory, filled from testdata/models or testdata/torchscript.</summary>
internal sealed class TestRepository : IDisposable
{
    public TestRepository()
    {
        Path = Directory.CreateTempSubdirectory("hyperion-engine-tests-").FullName;
    }

    public string Path { get; }

    public static string TestModels { get; } = FindTestData("models");

    public static string TorchScriptModels { get; } = FindTestData("torchscript");

    /// <summary>Copies testdata/models/<paramref name="model"/> (all versions) as <paramref name="as"/>.</summary>
    public TestRepository Add(string model, string? @as = null)
    {
        CopyDirectory(System.IO.Path.Combine(TestModels, model), System.IO.Path.Combine(Path, @as ?? model));
        return this;
    }

    /// <summary>Copies testdata/torchscript/<paramref name="model"/> (config and model.pt) as <paramref name="as"/>.</summary>
    public TestRepository AddTorchScript(string model, string? @as = null)
    {
        CopyDirectory(System.IO.Path.Combine(TorchScriptModels, model), System.IO.Path.Combine(Path, @as ?? model));
        return this;
    }

    /// <summary>Copies version 1 of a test model into <paramref name="model"/>/<paramref name="version"/>.</summary>
    public TestRepository AddVersion(string source, string model, int version)
    {
        var target = System.IO.Path.Combine(Path, model, version.ToString());
        Directory.CreateDirectory(target);
        File.Copy(System.IO.Path.Combine(TestModels, source, "1", "model.onnx"), System.IO.Path.Combine(target, "model.onnx"), overwrite: true);
        return this;
    }

    public TestRepository WriteConfig(string model, string json)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, model));
        File.WriteAllText(System.IO.Path.Combine(Path, model, "config.json"), json);
        return this;
    }

    public TestRepository WriteModelFile(string model, int version, byte[] content, string fileName = "model.onnx")
    {
        var directory = System.IO.Path.Combine(Path, model, version.ToString());
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(System.IO.Path.Combine(directory, fileName), content);
        return this;
    }

    public TestRepository DeleteConfig(string model)
    {
        File.Delete(System.IO.Path.Combine(Path, model, "config.json"));
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A session still mapping a file must not fail the test; the temp dir is cleaned eventually.
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)), overwrite: true);
        }
        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, System.IO.Path.Combine(target, System.IO.Path.GetFileName(directory)));
        }
    }

    private static string FindTestData(string folder)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "testdata", folder);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"testdata/{folder} not found above " + AppContext.BaseDirectory);
    }
}
