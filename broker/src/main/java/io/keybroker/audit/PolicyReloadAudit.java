package io.keybroker.audit;

import io.keybroker.policy.PolicyReloadListener;
import io.keybroker.policy.PolicySet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.stereotype.Component;

/** Audits every policy change applied or refused, so the trail shows which policy decided what. */
@Component
public class PolicyReloadAudit implements PolicyReloadListener {

    private final AuditLog audit;

    public PolicyReloadAudit(AuditLog audit) {
        this.audit = audit;
    }

    @Override
    public void reloaded(PolicySet set) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("outcome", "applied");
        fields.put("digest", set.digest());
        fields.put("files", set.files());
        fields.put("grants", set.grants().size());
        audit.event("policy-reload", fields);
    }

    @Override
    public void reloadFailed(List<String> errors) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("outcome", "refused");
        fields.put("errors", errors.size() > 20 ? errors.subList(0, 20) : errors);
        fields.put("note", "the last good policy stays in force");
        audit.event("policy-reload", fields);
    }
}
