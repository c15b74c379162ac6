using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Registry.Cards;

/// <summary><c>model_cards</c>: one card per version, rewritten as a whole, each write audited in its transaction.</summary>
internal sealed class ModelCardStore(NpgsqlDataSource dataSource)
{
    public async Task<ModelCardView?> GetAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT card::text, updated_by, updated_at FROM model_cards WHERE model = @model AND version = @version");
        command.Bind("model", model);
        command.Bind("version", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ModelCardView.Of(model, version, JsonNode.Parse(reader.GetString(0))!.AsObject(), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2))
            : null;
    }

    /// <summary>Writes the card; <see cref="CardWrite.Status"/> says whether it was new, replaced one, or the version does not exist.</summary>
    public async Task<CardWrite> PutAsync(string model, long version, JsonObject card, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        // The version's row shared until commit: a delete of the version waits, or has happened and the card is 404.
        await using (var exists = db.Command("SELECT 1 FROM model_versions WHERE model = @model AND version = @version FOR KEY SHARE"))
        {
            exists.Bind("model", model);
            exists.Bind("version", version);
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return new CardWrite(CardWriteStatus.NoVersion, null);
            }
        }
        JsonNode? before = null;
        await using (var read = db.Command("SELECT card::text FROM model_cards WHERE model = @model AND version = @version FOR UPDATE"))
        {
            read.Bind("model", model);
            read.Bind("version", version);
            if (await read.ExecuteScalarAsync(cancellationToken) is string text)
            {
                before = JsonNode.Parse(text);
            }
        }
        DateTimeOffset updatedAt;
        await using (var upsert = db.Command("""
            INSERT INTO model_cards (model, version, card, updated_by) VALUES (@model, @version, @card, @actor)
            ON CONFLICT (model, version) DO UPDATE SET card = excluded.card, updated_by = excluded.updated_by, updated_at = now()
            RETURNING updated_at
            """))
        {
            upsert.Bind("model", model);
            upsert.Bind("version", version);
            upsert.BindJsonText("card", card.ToJsonString());
            upsert.Bind("actor", actor);
            await using var reader = await upsert.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            updatedAt = reader.GetFieldValue<DateTimeOffset>(0);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.VersionCardUpdated,
            Model: model,
            Target: $"version {version}",
            Before: before,
            After: card), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new CardWrite(before is null ? CardWriteStatus.Created : CardWriteStatus.Replaced, ModelCardView.Of(model, version, card, actor, updatedAt));
    }
}

internal enum CardWriteStatus
{
    Created,
    Replaced,
    NoVersion,
}

internal sealed record CardWrite(CardWriteStatus Status, ModelCardView? Card);
