package io.keybroker.policy;

import java.util.List;

/**
 * Hears about policy reloads after start (audit records, reload counters). Every bean of this type is called, in
 * bean order, on the watcher's thread; an exception from one listener is logged and does not stop the others.
 * The policy loaded at start-up is not reported here (see {@link PolicyStore#current()}).
 */
public interface PolicyReloadListener {

    /** A changed directory was loaded and is now in force. */
    void reloaded(PolicySet set);

    /**
     * A changed directory could not be loaded; the previous policy set stays in force.
     * @param errors each problem as {@code file:line: field: problem}; policy files hold no secret values
     */
    void reloadFailed(List<String> errors);
}
