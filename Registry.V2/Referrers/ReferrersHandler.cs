using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Registry.Core.Distribution;
using Registry.V2.Http;
using Registry.V2.Manifests;

namespace Registry.V2.Referrers;

/// <summary>
/// <c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;[?artifactType=]</c> (OCI distribution-spec v1.1, 'Listing Referrers', OCI 1.1): an image index of
/// the repository's manifests whose <c>subject</c> is the digest; never 404 for an unknown repository or subject.
/// The referrers are found by reading the repository's revisions on each request (no separate reverse index),
/// so the answer always agrees with the distribution tree, at a cost proportional to the number of revisions.
/// </summary>
public sealed class ReferrersHandler(ManifestStore store)
{
    public const string FiltersAppliedHeader = "OCI-Filters-Applied";

    public async Task<IResult> ListAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        if (!Digest.TryParse(reference, out var subject))
            return V2Results.Error(V2ErrorCode.DigestInvalid, reference);
        var artifactType = context.Request.Query["artifactType"].ToString();

        var referrers = new List<(string Digest, JsonObject Descriptor)>();
        await foreach (var manifest in store.ListRevisionsAsync(name, ct))
        {
            var document = ManifestDocument.TryParse(manifest.Content);
            if (document?.Subject?.Digest != subject) continue;
            var descriptor = Describe(manifest, document);
            if (artifactType.Length > 0 && (string?)descriptor["artifactType"] != artifactType) continue;
            referrers.Add((manifest.Digest.ToString(), descriptor));
        }

        var manifests = new JsonArray();
        foreach (var (_, descriptor) in referrers.OrderBy(r => r.Digest, StringComparer.Ordinal)) manifests.Add(descriptor);
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestDocument.OciIndex,
            ["manifests"] = manifests,
        });
        if (artifactType.Length > 0) context.Response.Headers[FiltersAppliedHeader] = "artifactType";
        context.Response.ContentLength = body.Length;
        return Results.Bytes(body, ManifestDocument.OciIndex);
    }

    /// <summary>
    /// The referrer's descriptor: its type, size and digest, its <c>artifactType</c> (for an image manifest without
    /// one, the config's media type; for an index without one, none) and its annotations.
    /// </summary>
    private static JsonObject Describe(StoredManifest manifest, ManifestDocument document)
    {
        var descriptor = new JsonObject
        {
            ["mediaType"] = manifest.MediaType,
            ["size"] = manifest.Content.Length,
            ["digest"] = manifest.Digest.ToString(),
        };
        var artifactType = document.ArtifactType ?? (document.IsIndex ? null : document.Config?.MediaType);
        if (artifactType is not null) descriptor["artifactType"] = artifactType;
        if (JsonNode.Parse(manifest.Content) is JsonObject root && root["annotations"] is JsonObject annotations)
            descriptor["annotations"] = annotations.DeepClone();
        return descriptor;
    }
}
