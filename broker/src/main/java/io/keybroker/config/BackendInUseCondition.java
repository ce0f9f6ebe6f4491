package io.keybroker.config;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Backs {@link ConditionalOnBackend}. */
final class BackendInUseCondition implements Condition {

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Map<String, Object> attributes = metadata.getAnnotationAttributes(ConditionalOnBackend.class.getName());
        String wanted = (String) attributes.get("value");
        return backendsInUse(context.getEnvironment()).contains(wanted);
    }

    /** The backend ids named by {@code keybroker.backend} (default file) and by every mapping. */
    static Set<String> backendsInUse(Environment environment) {
        Binder binder = Binder.get(environment);
        String defaultBackend = binder.bind("keybroker.backend", String.class).orElse("file");
        List<Map<String, String>> mappings = binder
                .bind("keybroker.mappings", Bindable.listOf((Class<Map<String, String>>) (Class<?>) Map.class))
                .orElse(List.of());
        Set<String> inUse = mappings.stream()
                .map(m -> m.get("backend"))
                .filter(b -> b != null && !b.isBlank())
                .collect(Collectors.toSet());
        inUse.add(defaultBackend);
        return inUse;
    }
}
