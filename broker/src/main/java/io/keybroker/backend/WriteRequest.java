package io.keybroker.backend;

/**
 * What a writer asks of a new version besides its value. Both parts are optional, and a backend uses the part
 * that its store has a notion of.
 *
 * @param newVersion the id the new version should get, so that repeating a write with the same id changes nothing
 *     (AWS: the client request token, i.e. the VersionId); {@code null} lets the backend choose. Backends that number
 *     versions themselves (Vault) ignore it.
 * @param expectedCurrent the version the writer read and bases the write on: the write fails with
 *     {@link WriteConflictException} when another version became current meanwhile; {@code null} means the version
 *     current when staging
 */
public record WriteRequest(String newVersion, String expectedCurrent) {

    public static WriteRequest any() {
        return new WriteRequest(null, null);
    }
}
