using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Scope parsing and the team rule (issue 18 item 4): what each scope admits, with and without teams.</summary>
public sealed class ScopesTests
{
    [Theory]
    [InlineData("admin", true)]
    [InlineData("deploy", true)]
    [InlineData("approve", true)]
    [InlineData("infer", true)]
    [InlineData("infer:digits", true)]
    [InlineData("deploy:digits", true)]
    [InlineData("deploy:digits-v2.onnx_b", true)]
    [InlineData("approve:vision", true)]
    [InlineData("deploy:", false)]
    [InlineData("approve:", false)]
    [InlineData("deploy:-digits", false)]
    [InlineData("approve:vision team", false)]
    [InlineData("approve:vision:eu", false)]
    [InlineData("infer:", false)]
    [InlineData("read", false)]
    [InlineData("Deploy", false)]
    public void Scopes_are_the_four_plain_ones_and_the_named_forms(string scope, bool valid) =>
        Assert.Equal(valid, Scopes.IsValid(scope));

    [Fact]
    public void A_128_character_model_name_is_a_deploy_scope_and_129_is_not()
    {
        Assert.True(Scopes.IsValid("deploy:" + new string('m', 128)));
        Assert.False(Scopes.IsValid("deploy:" + new string('m', 129)));
    }

    [Fact]
    public void The_team_an_approve_scope_names_is_read_back()
    {
        Assert.Equal("vision", Scopes.ApprovedTeam("approve:vision"));
        Assert.Null(Scopes.ApprovedTeam("approve"));
        Assert.Null(Scopes.ApprovedTeam("deploy:vision"));
    }

    [Theory]
    // Keys and models without teams: as before teams existed.
    [InlineData("deploy", null, "digits", null, true)]
    [InlineData("admin", null, "digits", "nlp", true)]
    [InlineData("deploy:digits", null, "digits", null, true)]
    [InlineData("deploy:digits", null, "digits2", null, false)]
    [InlineData("deploy:digit", null, "digits", null, false)]
    [InlineData("infer", null, "digits", null, false)]
    [InlineData("approve", null, "digits", null, false)]
    // A team's key: only its team's models.
    [InlineData("deploy", "vision", "digits", "vision", true)]
    [InlineData("deploy", "vision", "digits", "nlp", false)]
    [InlineData("deploy", "vision", "digits", null, false)]
    [InlineData("deploy:digits", "vision", "digits", "nlp", false)]
    // A key without a team reaches every team's models.
    [InlineData("deploy", null, "digits", "nlp", true)]
    public void Deploy_scopes_admit_their_models_within_the_key_team(string scope, string? callerTeam, string model, string? modelTeam, bool allowed) =>
        Assert.Equal(allowed, Scopes.AllowsDeploy([scope], callerTeam, model, modelTeam));

    [Theory]
    [InlineData("approve", null, null, true)]
    [InlineData("approve", null, "nlp", true)]
    [InlineData("approve:vision", null, "vision", true)]
    [InlineData("approve:vision", null, "nlp", false)]
    [InlineData("approve:vision", null, null, false)]
    [InlineData("approve", "vision", "vision", true)]
    [InlineData("approve", "vision", "nlp", false)]
    [InlineData("approve:nlp", "vision", "nlp", false)]
    [InlineData("deploy", null, "vision", false)]
    [InlineData("admin", null, "vision", true)]
    public void Approve_scopes_admit_their_team_models(string scope, string? callerTeam, string? modelTeam, bool allowed) =>
        Assert.Equal(allowed, Scopes.AllowsApprove([scope], callerTeam, modelTeam));

    [Theory]
    [InlineData("infer", null, "digits", "nlp", true)]
    [InlineData("infer", "vision", "digits", "vision", true)]
    [InlineData("infer", "vision", "digits", "nlp", false)]
    [InlineData("infer", "vision", "digits", null, false)]
    [InlineData("infer:digits", "vision", "digits", "vision", true)]
    [InlineData("infer:digits", "vision", "other", "vision", false)]
    public void Infer_scopes_admit_their_models_within_the_key_team(string scope, string? callerTeam, string model, string? modelTeam, bool allowed) =>
        Assert.Equal(allowed, Scopes.AllowsInfer([scope], callerTeam, model, modelTeam));

    [Fact]
    public void A_team_refusal_names_both_teams_and_the_model_and_is_null_when_teams_agree()
    {
        var refusal = Scopes.TeamRefusal("vision", "sentiment", "nlp");
        Assert.NotNull(refusal);
        Assert.Contains("team 'vision'", refusal);
        Assert.Contains("model 'sentiment'", refusal);
        Assert.Contains("team 'nlp'", refusal);
        Assert.Contains("belongs to no team", Scopes.TeamRefusal("vision", "digits", null));
        Assert.Null(Scopes.TeamRefusal("vision", "digits", "vision"));
        Assert.Null(Scopes.TeamRefusal(null, "digits", "nlp"));
    }
}
