package io.keybroker.cache;

/**
 * A watch was refused because watched locations would take more than their share of
 * {@code keybroker.cache.max-size}. The message names no location.
 */
public final class WatchCapacityException extends RuntimeException {

    private final int limit;

    public WatchCapacityException(int limit) {
        super("watch streams already keep " + limit + " secrets loaded, the most keybroker.cache.max-size allows "
                + "(half of it)");
        this.limit = limit;
    }

    /** The most locations all watches together may keep loaded. */
    public int limit() {
        return limit;
    }
}
