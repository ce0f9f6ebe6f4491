package io.keybroker.testsupport;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Walks everything reachable from an object through its fields (and through collections, maps, optionals and
 * atomic references) and reports where a plaintext appears: in a byte array (as UTF-8), a char array or a
 * String. Used by leak tests to show that a cache entry or a backend keeps no copy of a value.
 *
 * <p>Objects of the JDK are not opened (their internals are closed to reflection and hold no Keybroker data),
 * except the containers named above; nor are Reactor schedulers, Micrometer registries and loggers, which are
 * infrastructure reached through a component's fields and never handed a value.
 */
public final class PlaintextGraphSearch {

    private static final List<String> OPAQUE = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.", "reactor.",
            "io.micrometer.", "org.slf4j.", "ch.qos.logback.");

    private final byte[] needle;
    private final char[] chars;
    private final String text;

    private final Set<Class<?>> skip;

    private PlaintextGraphSearch(String plaintext, Set<Class<?>> skip) {
        this.skip = skip;
        this.needle = plaintext.getBytes(StandardCharsets.UTF_8);
        this.chars = plaintext.toCharArray();
        this.text = plaintext;
    }

    /**
     * Where {@code plaintext} occurs in the graph reachable from {@code root}, as field paths; empty if nowhere.
     *
     * @param skip types not to enter (e.g. a test backend that holds the values by design)
     */
    public static List<String> find(Object root, String plaintext, Class<?>... skip) {
        return new PlaintextGraphSearch(plaintext, Set.of(skip)).search(root);
    }

    private record Visit(Object value, String path) {
    }

    private List<String> search(Object root) {
        List<String> found = new ArrayList<>();
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Visit> todo = new ArrayDeque<>();
        todo.push(new Visit(root, root.getClass().getSimpleName()));
        while (!todo.isEmpty()) {
            Visit visit = todo.pop();
            Object value = visit.value();
            if (value == null || !seen.add(value)) {
                continue;
            }
            Class<?> type = value.getClass();
            if (skip.contains(type)) {
                continue;
            }
            if (value instanceof String s) {
                if (s.contains(text)) {
                    found.add(visit.path() + " (String)");
                }
            } else if (value instanceof byte[] bytes) {
                if (indexOf(bytes) >= 0) {
                    found.add(visit.path() + " (byte[])");
                }
            } else if (value instanceof char[] cs) {
                if (indexOf(cs) >= 0) {
                    found.add(visit.path() + " (char[])");
                }
            } else if (type.isArray()) {
                if (!type.getComponentType().isPrimitive()) {
                    for (int i = 0; i < Array.getLength(value); i++) {
                        todo.push(new Visit(Array.get(value, i), visit.path() + "[" + i + "]"));
                    }
                }
            } else if (value instanceof Map<?, ?> map) {
                map.forEach((k, v) -> {
                    todo.push(new Visit(k, visit.path() + ".key"));
                    todo.push(new Visit(v, visit.path() + "[" + k + "]"));
                });
            } else if (value instanceof Collection<?> collection) {
                int i = 0;
                for (Object element : collection) {
                    todo.push(new Visit(element, visit.path() + "[" + i++ + "]"));
                }
            } else if (value instanceof Optional<?> optional) {
                optional.ifPresent(v -> todo.push(new Visit(v, visit.path() + ".get()")));
            } else if (value instanceof AtomicReference<?> reference) {
                todo.push(new Visit(reference.get(), visit.path() + ".get()"));
            } else if (!opaque(type)) {
                for (Class<?> c = type; c != null && !opaque(c); c = c.getSuperclass()) {
                    for (Field field : c.getDeclaredFields()) {
                        if (Modifier.isStatic(field.getModifiers()) || field.getType().isPrimitive()) {
                            continue;
                        }
                        try {
                            field.setAccessible(true);
                            todo.push(new Visit(field.get(value), visit.path() + "." + field.getName()));
                        } catch (InaccessibleObjectException | IllegalAccessException ex) {
                            throw new IllegalStateException("cannot inspect " + c.getName() + "." + field.getName(), ex);
                        }
                    }
                }
            }
        }
        return found;
    }

    private static boolean opaque(Class<?> type) {
        String name = type.getName();
        return OPAQUE.stream().anyMatch(name::startsWith);
    }

    private int indexOf(byte[] haystack) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private int indexOf(char[] haystack) {
        outer:
        for (int i = 0; i + chars.length <= haystack.length; i++) {
            for (int j = 0; j < chars.length; j++) {
                if (haystack[i + j] != chars[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
