namespace Registry.Core.Storage;

/// <summary>
/// The backing store could not do what was asked (unreachable, credentials refused, bucket missing,
/// throttled, failed mid-transfer). The request is not at fault: the host answers 503 and logs it.
/// Nothing was published by the failed operation.
/// </summary>
public sealed class StorageUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
