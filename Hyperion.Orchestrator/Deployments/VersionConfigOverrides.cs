using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// The repository config a replica loads a version with: the version's stored config with the deployment's
/// overrides applied (max_batch_size, dynamic_batching fields, one instance group). Which versions load is the
/// replica's business (it writes version_policy), so a stored version_policy is dropped.
/// </summary>
internal static class VersionConfigOverrides
{
    public static JsonObject Apply(string model, JsonObject stored, DeploymentSpec spec)
    {
        var config = stored.DeepClone().AsObject();
        config["name"] = model;
        config.Remove("version_policy");
        if (spec.MaxBatchSize is { } maxBatchSize)
        {
            config["max_batch_size"] = maxBatchSize;
        }
        if (spec.Batching is { } batching)
        {
            if (config["dynamic_batching"] is not JsonObject dynamic)
            {
                dynamic = [];
                config["dynamic_batching"] = dynamic;
            }
            if (batching.MaxQueueDelayMicroseconds is { } delay)
            {
                dynamic["max_queue_delay_microseconds"] = delay;
            }
            if (batching.PreferredBatchSize is { } preferred)
            {
                dynamic["preferred_batch_size"] = new JsonArray([.. preferred.Select(size => JsonValue.Create(size))]);
            }
            if (batching.MaxQueueSize is { } queue)
            {
                dynamic["max_queue_size"] = queue;
            }
            if (batching.DefaultTimeoutMicroseconds is { } timeout)
            {
                dynamic["default_timeout_microseconds"] = timeout;
            }
        }
        if (spec.Instances is { } instances)
        {
            config["instance_group"] = new JsonArray(new JsonObject { ["count"] = instances.Count, ["kind"] = instances.Kind });
        }
        return config;
    }
}
