using System.Text.Json;
using Registry.Core.Names;
using Registry.Core.Notifications;
using Registry.Index.Accounts;
using Registry.V2.Notifications;

namespace Registry.V1.Notifications;

/// <summary>
/// V1 writes as events in distribution's envelope (docs/operating.md, 'Notifications', 'V1 events'): an image whose
/// layer was stored and a tag that was written are pushes with <see cref="ImageMediaType"/> and the image's
/// <c>/v1/images/&lt;id&gt;/json</c> URL; a deleted tag or repository is a delete with the fields distribution's
/// tag and repository deletes carry (repository, and tag).
/// </summary>
public sealed class V1Events(Notifier notifier)
{
    /// <summary>The media type of a V1 image in events: V1 has no media types, so this names one explicitly.</summary>
    public const string ImageMediaType = "application/vnd.docker.container.image.v1+json";

    public bool Enabled => notifier.Enabled;

    /// <summary>
    /// A layer was stored. V1 images belong to no repository; the repository is the one the index token of the push
    /// names, when the client sent one.
    /// </summary>
    public void ImagePushed(HttpContext context, ImageId id, long size)
    {
        var repository = context.Items[Authenticator.PrincipalItem] is Principal { Token: { } token } ? token.Repository : null;
        Publish(context, EventActions.Push, new EventTarget
        {
            MediaType = ImageMediaType,
            Size = size,
            Length = size,
            Repository = repository,
            Url = ImageUrl(context, id.Value),
        });
    }

    /// <summary>A tag was written; <paramref name="body"/> is the request body the tag was set from (a JSON string: the image id).</summary>
    public void TagWritten(HttpContext context, RepositoryName name, string tag, byte[] body)
    {
        string? image;
        try
        {
            image = JsonSerializer.Deserialize<string>(body);
        }
        catch (JsonException)
        {
            image = null;
        }
        Publish(context, EventActions.Push, new EventTarget
        {
            MediaType = ImageMediaType,
            Repository = name.FullName,
            Url = image is null ? null : ImageUrl(context, image),
            Tag = tag,
        });
    }

    public void TagDeleted(HttpContext context, RepositoryName name, string tag) =>
        Publish(context, EventActions.Delete, new EventTarget { Repository = name.FullName, Tag = tag });

    public void RepositoryDeleted(HttpContext context, RepositoryName name) =>
        Publish(context, EventActions.Delete, new EventTarget { Repository = name.FullName });

    private static string ImageUrl(HttpContext context, string id) => $"{Notifier.BaseUrl(context)}/v1/images/{id}/json";

    private void Publish(HttpContext context, string action, EventTarget target)
    {
        if (notifier.Enabled) notifier.Publish(context, action, target, V2Events.ActorOf(context));
    }
}
