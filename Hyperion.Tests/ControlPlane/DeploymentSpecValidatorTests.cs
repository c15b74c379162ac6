using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;

namespace Hyperion.Tests.ControlPlane;

public sealed class DeploymentSpecValidatorTests
{
    [Fact]
    public void A_minimal_spec_gets_the_defaults()
    {
        var spec = Valid("""{"stable": 3}""");
        Assert.Equal(
            new DeploymentSpec(Stable: 3, Canary: null, Shadow: null, Cache: null, Batching: null, MaxBatchSize: null, Instances: null, Pool: "cpu", Replicas: null),
            spec);
    }

    [Fact]
    public void Omitted_shadow_percent_and_cache_fields_take_their_defaults()
    {
        var spec = Valid("""{"stable": 1, "shadow": {"version": 2}, "cache": {}}""");
        Assert.Equal(new ShadowSpec(2, 100), spec.Shadow);
        Assert.Equal(new CacheSpec(true, 60), spec.Cache);
    }

    [Fact]
    public void A_plan_keeps_its_fields_and_starts_at_the_first_step()
    {
        var spec = Valid("""{"stable": 1, "canary": {"version": 2, "steps": [5, 25, 100], "step_seconds": 60, "min_requests": 50, "max_error_rate_delta": 0.01, "max_p95_latency_ratio": 1.5}}""");
        var canary = spec.Canary!;
        Assert.Null(canary.Percent);
        Assert.Equal(5, canary.InitialPercent);
        Assert.Equal([5.0, 25.0, 100.0], canary.Steps);
        Assert.Equal((60, 50L, 0.01, 1.5), (canary.StepSeconds!.Value, canary.MinRequests!.Value, canary.MaxErrorRateDelta!.Value, canary.MaxP95LatencyRatio!.Value));
    }

    [Fact]
    public void Every_mistake_is_reported_at_once()
    {
        var errors = Invalid("""{"stable": 1, "canary": {"version": 1, "percent": -1}, "shadow": {"version": 1, "percent": 101}, "replicas": 0, "pool": "GPU!"}""");
        Assert.Equal(["canary.version", "canary.percent", "shadow.version", "shadow.percent", "pool", "replicas"], errors.Keys);
    }

    [Theory]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": 10, "steps": [10, 50]}}""", "canary.percent")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": 10, "step_seconds": 30}}""", "canary")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": []}}""", "canary.steps")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [50, 50]}}""", "canary.steps")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [50, 101]}}""", "canary.steps")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "step_seconds": 0}}""", "canary.step_seconds")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "min_requests": -1}}""", "canary.min_requests")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "max_error_rate_delta": 1.5}}""", "canary.max_error_rate_delta")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "max_p95_latency_ratio": 0}}""", "canary.max_p95_latency_ratio")]
    [InlineData("""{"stable": 1, "canary": {"percent": 10}}""", "canary.version")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": 10, "max_accuracy_drop": 0.05}}""", "canary")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "max_accuracy_drop": 5}, "monitoring": {}}""", "canary.max_accuracy_drop")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "min_agreement": -0.1}, "shadow": {"version": 2}, "monitoring": {}}""", "canary.min_agreement")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "max_accuracy_drop": 0.05, "min_quality_samples": 0}, "monitoring": {}}""", "canary.min_quality_samples")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10], "min_quality_samples": 10}}""", "canary.min_quality_samples")]
    [InlineData("""{"stable": 1, "batching": {"max_queue_delay_microseconds": -5}}""", "batching.max_queue_delay_microseconds")]
    [InlineData("""{"stable": 1, "batching": {"max_queue_size": -1}}""", "batching.max_queue_size")]
    [InlineData("""{"stable": 1, "batching": {"default_timeout_microseconds": -1}}""", "batching.default_timeout_microseconds")]
    [InlineData("""{"stable": 1, "batching": {"preferred_batch_size": [0]}}""", "batching.preferred_batch_size")]
    [InlineData("""{"stable": 1, "max_batch_size": 4, "batching": {"preferred_batch_size": [8]}}""", "batching.preferred_batch_size")]
    [InlineData("""{"stable": 1, "max_batch_size": -1}""", "max_batch_size")]
    [InlineData("""{"stable": 1, "instances": {"count": 0}}""", "instances.count")]
    public void Out_of_range_fields_are_refused(string json, string field)
    {
        Assert.Contains(field, Invalid(json).Keys);
    }

    [Fact]
    public void Quality_gates_say_what_else_they_need_monitoring_and_for_agreement_a_shadow_of_the_canary()
    {
        var unmonitored = Invalid("""{"stable": 1, "canary": {"version": 2, "steps": [10], "max_accuracy_drop": 0.05}, "monitoring": {"sample_percent": 0}}""");
        Assert.Equal("reads the arms' captured predictions, so it needs monitoring: add \"monitoring\": {\"sample_percent\": 100} (or another share above 0)",
            Assert.Single(unmonitored["canary.max_accuracy_drop"]));

        var unshadowed = Invalid("""{"stable": 1, "canary": {"version": 2, "steps": [10], "min_agreement": 0.9}, "shadow": {"version": 3}, "monitoring": {}}""");
        Assert.Equal("compares the canary's predictions with stable's on the same requests, which only a shadow copy of the canary version gives: add \"shadow\": {\"version\": 2} (the shadow is version 3)",
            Assert.Single(unshadowed["canary.min_agreement"]));

        var spec = Valid("""{"stable": 1, "canary": {"version": 2, "steps": [10, 100], "max_accuracy_drop": 0.05, "min_agreement": 0.9}, "shadow": {"version": 2}, "monitoring": {"sample_percent": 20}}""");
        Assert.Equal((0.05, 0.9, 50L), (spec.Canary!.MaxAccuracyDrop!.Value, spec.Canary.MinAgreement!.Value, spec.Canary.MinQualitySamples!.Value));
        Assert.Null(Valid("""{"stable": 1, "canary": {"version": 2, "steps": [10]}}""").Canary!.MinQualitySamples);
    }

    [Fact]
    public void The_description_names_each_field_and_message()
    {
        var errors = Invalid("""{"stable": 1, "cache": {"ttl_seconds": 0}}""");
        Assert.Equal("The deployment spec is invalid: cache.ttl_seconds must be 1 or more, got 0.", DeploymentSpecValidator.Describe(errors));
    }

    [Fact]
    public void A_stored_spec_reads_back_equal_so_an_identical_put_changes_nothing()
    {
        var spec = Valid("""{"stable": 1, "canary": {"version": 2, "steps": [10, 50, 100], "max_error_rate_delta": 0.02}, "cache": {"enabled": true, "ttl_seconds": 30}, "batching": {"preferred_batch_size": [4]}, "instances": {"count": 2}}""");
        var stored = JsonSerializer.Serialize(spec, ControlPlaneJson.Options);
        Assert.DoesNotContain("initial_percent", stored);
        Assert.Equal(stored, JsonSerializer.Serialize(JsonSerializer.Deserialize<DeploymentSpec>(stored, ControlPlaneJson.Options), ControlPlaneJson.Options));
    }

    private static DeploymentSpec Valid(string json)
    {
        var spec = DeploymentSpecValidator.Validate(Parse(json), out var errors);
        Assert.True(spec is not null, string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
        return spec!;
    }

    private static Dictionary<string, string[]> Invalid(string json)
    {
        Assert.Null(DeploymentSpecValidator.Validate(Parse(json), out var errors));
        return errors;
    }

    private static DeploymentRequest Parse(string json) => JsonSerializer.Deserialize<DeploymentRequest>(json, ControlPlaneJson.Options)!;
}
