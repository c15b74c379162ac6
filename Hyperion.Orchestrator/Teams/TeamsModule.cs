namespace Hyperion.Orchestrator.Teams;

/// <summary>Teams: which models and keys belong together (issue 18 item 4).</summary>
internal static class TeamsModule
{
    public static IHostApplicationBuilder AddTeams(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TeamStore>();
        return builder;
    }

    /// <summary>/api/v1/teams..., /api/v1/models/{m}/team</summary>
    public static RouteGroupBuilder MapTeamsApi(this RouteGroupBuilder api) => api.MapTeamEndpoints();
}
