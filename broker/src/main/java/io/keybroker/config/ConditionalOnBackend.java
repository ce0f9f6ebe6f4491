package io.keybroker.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.context.annotation.Conditional;

/**
 * Creates the annotated configuration only when the backend is in use: it is {@code keybroker.backend}, or a
 * {@code keybroker.mappings[i].backend} names it. An unused backend builds no client, needs no credentials and
 * makes no call.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Conditional(BackendInUseCondition.class)
public @interface ConditionalOnBackend {

    /** The backend id: the id of a registered {@code io.keybroker.backend.BackendKind}. */
    String value();
}
