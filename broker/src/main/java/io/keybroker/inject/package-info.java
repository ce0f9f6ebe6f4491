/**
 * The sidecar injector: a mutating admission webhook, run as {@code keybroker injector}, that gives pods
 * annotated {@code keybroker.io/inject: "true"} the Keybroker native sidecar.
 *
 * <p>{@link io.keybroker.inject.PodMutator} is the whole decision, a pure function from an AdmissionReview to
 * an AdmissionReview answer carrying a JSON Patch; it knows nothing of HTTP. What it injects comes from an
 * {@link io.keybroker.inject.InjectionTemplate} that the Helm chart renders from the same named templates a
 * workload chart uses by hand, so an injected pod and a hand-written one cannot drift apart.
 * {@link io.keybroker.inject.InjectorServer} serves it over HTTPS and re-reads the template and the serving
 * certificate when they change. docs/injector.md explains the choices.
 */
@NullMarked
package io.keybroker.inject;

import org.jspecify.annotations.NullMarked;
