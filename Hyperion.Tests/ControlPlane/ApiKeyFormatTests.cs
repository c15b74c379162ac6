using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Tests.ControlPlane;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Keys_are_hyp_and_43_base62_digits_and_differ()
    {
        var first = ApiKeyFormat.Generate();
        var second = ApiKeyFormat.Generate();
        Assert.NotEqual(first, second);
        Assert.Matches("^hyp_[0-9A-Za-z]{43}$", first);
        Assert.True(ApiKeyFormat.LooksLikeKey(first));
        Assert.False(ApiKeyFormat.LooksLikeKey(first.AsSpan(0, first.Length - 1)));
        Assert.False(ApiKeyFormat.LooksLikeKey(string.Concat(first.AsSpan(0, first.Length - 1), "!")));
        Assert.Equal(first[..12], ApiKeyFormat.PrefixOf(first));
        Assert.Equal(64, ApiKeyFormat.HashHex(first).Length);
    }

    [Theory]
    [InlineData("admin", "digits", true)]
    [InlineData("infer", "digits", true)]
    [InlineData("infer:digits", "digits", true)]
    [InlineData("infer:digits", "digits2", false)]
    [InlineData("infer:digit", "digits", false)]
    [InlineData("deploy", "digits", false)]
    public void Infer_scopes_admit_only_their_model(string scope, string model, bool allowed) =>
        Assert.Equal(allowed, Scopes.AllowsInfer([scope], model));

    [Fact]
    public void Admin_implies_deploy_but_deploy_not_admin()
    {
        Assert.True(Scopes.AllowsDeploy(["admin"]));
        Assert.True(Scopes.AllowsDeploy(["deploy"]));
        Assert.False(Scopes.AllowsAdmin(["deploy"]));
        Assert.False(Scopes.AllowsDeploy(["infer"]));
    }
}
