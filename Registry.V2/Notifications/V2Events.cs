using Microsoft.AspNetCore.Http;
using Registry.Core.Distribution;
using Registry.Core.Notifications;
using Registry.Index.Accounts;
using Registry.V2.Manifests;

namespace Registry.V2.Notifications;

/// <summary>
/// The v2 events, set as distribution's notification bridge sets them (distribution notifications doc, 'Events'):
/// manifests carry their media type, size, length, digest and URL (by digest) and the tag they were pushed or pulled
/// by; blobs carry <c>application/octet-stream</c>; deletes carry only repository and digest or tag.
/// </summary>
public sealed class V2Events(Notifier notifier)
{
    /// <summary>The media type distribution gives every blob it stats.</summary>
    public const string BlobMediaType = "application/octet-stream";

    /// <summary>The user the request authenticated as; null when anonymous or when auth is off.</summary>
    public static string? ActorOf(HttpContext context) => context.Items[Authenticator.PrincipalItem] switch
    {
        Principal { Kind: PrincipalKind.User or PrincipalKind.Bearer, User: { } user } => user,
        Principal { Kind: PrincipalKind.Token, Token: { } token } => token.User,
        _ => null,
    };

    public void ManifestPushed(HttpContext context, string name, Digest digest, string mediaType, long size, string? tag) =>
        Publish(context, EventActions.Push, Manifest(context, name, digest, mediaType, size, tag));

    public void ManifestPulled(HttpContext context, string name, StoredManifest manifest, string? tag)
    {
        // Checked before the target is built: every pull by tag or digest passes here, notifications on or off.
        if (notifier.Enabled) Publish(context, EventActions.Pull, Manifest(context, name, manifest.Digest, manifest.MediaType, manifest.Content.Length, tag));
    }

    /// <summary>The manifest's delete, then a tag delete for each tag that went with it, as distribution sends them.</summary>
    public void ManifestDeleted(HttpContext context, string name, Digest digest, IReadOnlyList<string> removedTags)
    {
        Publish(context, EventActions.Delete, new EventTarget { Digest = digest.ToString(), Repository = name });
        foreach (var tag in removedTags) TagDeleted(context, name, tag);
    }

    public void TagDeleted(HttpContext context, string name, string tag) =>
        Publish(context, EventActions.Delete, new EventTarget { Repository = name, Tag = tag });

    public void BlobPushed(HttpContext context, string name, Digest digest, long size) =>
        Publish(context, EventActions.Push, Blob(context, name, digest, size));

    public void BlobPulled(HttpContext context, string name, Digest digest, long size)
    {
        if (notifier.Enabled) Publish(context, EventActions.Pull, Blob(context, name, digest, size));
    }

    public void BlobMounted(HttpContext context, string name, Digest digest, long size, string from) =>
        Publish(context, EventActions.Mount, Blob(context, name, digest, size) with { FromRepository = from });

    public void BlobDeleted(HttpContext context, string name, Digest digest) =>
        Publish(context, EventActions.Delete, new EventTarget { Digest = digest.ToString(), Repository = name });

    private void Publish(HttpContext context, string action, EventTarget target)
    {
        if (notifier.Enabled) notifier.Publish(context, action, target, ActorOf(context));
    }

    private static EventTarget Manifest(HttpContext context, string name, Digest digest, string mediaType, long size, string? tag) => new()
    {
        MediaType = mediaType,
        Size = size,
        Digest = digest.ToString(),
        Length = size,
        Repository = name,
        Url = $"{Notifier.BaseUrl(context)}/v2/{name}/manifests/{digest}",
        Tag = tag,
    };

    private static EventTarget Blob(HttpContext context, string name, Digest digest, long size) => new()
    {
        MediaType = BlobMediaType,
        Size = size,
        Digest = digest.ToString(),
        Length = size,
        Repository = name,
        Url = $"{Notifier.BaseUrl(context)}/v2/{name}/blobs/{digest}",
    };
}
