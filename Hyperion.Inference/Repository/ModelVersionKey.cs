namespace Hyperion.Inference.Repository;

/// <summary>A model version's identity, also its metric labels.</summary>
internal readonly record struct ModelVersionKey(string Model, string Version);
