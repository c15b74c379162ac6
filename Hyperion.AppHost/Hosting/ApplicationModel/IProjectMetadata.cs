namespace Hyperion.AppHost.Hosting;

/// <summary>Where a service project and its built assembly live; generated per referenced project as Projects.&lt;Name&gt;.</summary>
public interface IProjectMetadata
{
    string ProjectPath { get; }

    string AssemblyPath { get; }
}
