using Aspire.Hosting.ApplicationModel;

namespace Hyperion.AppHost.Supervision;

/// <summary>Marks a resource that <see cref="CrashRestarter"/> starts again when its process exits on its own.</summary>
internal sealed class RestartOnCrashAnnotation : IResourceAnnotation;
