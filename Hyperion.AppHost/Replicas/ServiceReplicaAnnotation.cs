using Aspire.Hosting.ApplicationModel;

namespace Hyperion.AppHost.Replicas;

/// <summary>Replica <see cref="Index"/> of <see cref="Count"/> of the service <see cref="Service"/> ("inference-1" is replica 1 of "inference").</summary>
public sealed record ServiceReplicaAnnotation(string Service, int Index, int Count) : IResourceAnnotation;
