using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Who may move a version to which stage, as a plain function: the same decision the stage call makes on the graph.</summary>
public sealed class StageRulesTests
{
    private const string Uploader = "key:ci (hyp_Ab12Cd34…)";
    private static readonly ModelPolicy Open = new(RequireApproval: false);
    private static readonly ModelPolicy Guarded = new(RequireApproval: true);

    private static readonly VersionResource Version = new(
        Model: "digits", Version: 3, Digest: "sha256:00", SizeBytes: 1, Format: "onnx", Config: new JsonObject(), Signature: new JsonObject(),
        Lineage: new JsonObject(), BaselineProfile: null, CreatedBy: Uploader, CreatedAt: DateTimeOffset.UnixEpoch, Stage: VersionStage.Staging);

    private static StageCaller Deployer(string actor = Uploader) => new(actor, CanDeploy: true, CanApprove: false, "[deploy]");

    private static StageCaller Approver(string actor = "key:reviewer (hyp_Zz99…)") => new(actor, CanDeploy: false, CanApprove: true, "[approve]");

    [Theory]
    [InlineData("None")]
    [InlineData("Staging")]
    [InlineData("Production")]
    [InlineData("Archived")]
    public void Without_the_policy_a_deploy_key_makes_every_move_even_on_its_own_version(string to) =>
        Assert.Null(StageRules.Check("digits", Version, Enum.Parse<VersionStage>(to), Open, Deployer(), reason: null));

    [Fact]
    public void An_approve_key_moves_to_production_only()
    {
        Assert.Null(StageRules.Check("digits", Version, VersionStage.Production, Open, Approver(), reason: null));
        var refusal = StageRules.Check("digits", Version, VersionStage.Archived, Open, Approver(), reason: "old");
        Assert.Equal(StageRefusalKind.Forbidden, refusal!.Kind);
        Assert.Contains("to 'archived' needs the scope 'deploy' or 'admin' (the key has [approve])", refusal.Message);
    }

    [Fact]
    public void Under_the_policy_production_needs_an_approver_that_is_not_the_uploader_and_a_reason()
    {
        var noScope = StageRules.Check("digits", Version, VersionStage.Production, Guarded, Deployer("key:other (hyp_1…)"), "ok");
        Assert.Equal(StageRefusalKind.Forbidden, noScope!.Kind);
        Assert.Contains($"other than the one that uploaded version 3 ({Uploader}); the key has [deploy]", noScope.Message);

        var self = StageRules.Check("digits", Version, VersionStage.Production, Guarded, new StageCaller(Uploader, true, true, "[admin]"), "ok");
        Assert.Equal(StageRefusalKind.Forbidden, self!.Kind);
        Assert.Contains($"was uploaded by {Uploader}, the key making this call", self.Message);

        Assert.Equal(StageRefusalKind.ReasonRequired, StageRules.Check("digits", Version, VersionStage.Production, Guarded, Approver(), "  ")!.Kind);
        Assert.Null(StageRules.Check("digits", Version, VersionStage.Production, Guarded, Approver(), "reviewed"));
    }

    [Fact]
    public void Under_the_policy_every_other_move_stays_a_deploy_keys()
    {
        Assert.Null(StageRules.Check("digits", Version, VersionStage.Staging, Guarded, Deployer(), reason: null));
        Assert.Null(StageRules.Check("digits", Version, VersionStage.Archived, Guarded, Deployer(), reason: null));
    }
}
