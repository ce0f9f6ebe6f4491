package io.keybroker.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Loads a directory of policy files into a {@link PolicySet}, or fails with every problem found.
 *
 * <p>Which files: the {@code *.yaml} and {@code *.yml} files directly in the directory, in name order. Names
 * starting with {@code .} are skipped; other files and subdirectories are skipped with a warning. When the
 * directory is a Kubernetes ConfigMap or Secret volume (it holds a {@code ..data} link to the current generation of
 * files), the files are read from the generation {@code ..data} points at, so a reload never mixes files of two
 * generations. Each file may be at most {@value #MAX_FILE_BYTES} bytes, and at most {@value #MAX_FILES} files are
 * read.
 */
public final class PolicyLoader {

    /** The largest policy file read, 1 MiB. */
    public static final long MAX_FILE_BYTES = 1024 * 1024;
    /** The most policy files read from one directory. */
    public static final int MAX_FILES = 1000;

    static final String KUBERNETES_DATA_LINK = "..data";

    private final PolicyParser parser = new PolicyParser();

    /**
     * Reads and validates every policy file of {@code dir}.
     * @throws InvalidPolicyException with every problem, each naming the file, line and field
     */
    public PolicySet load(Path dir) {
        return compile(read(dir));
    }

    /**
     * A Kubernetes volume holds only links into {@code ..data}; a plain directory with a {@code ..data} entry
     * would have its visible files silently replaced by that hidden generation. The broker and
     * {@code policy check} share this rule, so they agree on which files are in force, and say so.
     */
    private static void requireOnlyLinksIntoData(Path dir) throws IOException {
        List<String> shadowed = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                if (!Files.isSymbolicLink(entry)
                        || !Files.readSymbolicLink(entry).startsWith(Path.of(KUBERNETES_DATA_LINK))) {
                    shadowed.add(name);
                }
            }
        }
        if (!shadowed.isEmpty()) {
            shadowed.sort(null);
            throw directoryProblem(dir + " holds a hidden " + KUBERNETES_DATA_LINK + " entry, which makes the broker "
                    + "read the files " + KUBERNETES_DATA_LINK + " points at instead of the visible ones, but also "
                    + shadowed + ", which are not links into it; which files are in force would be ambiguous, so "
                    + "nothing is loaded: remove " + KUBERNETES_DATA_LINK + " from a plain directory, or mount the "
                    + "policy as a ConfigMap volume");
        }
    }

    /**
     * Reads the directory's policy files without parsing them, so that the watcher can tell by the digest whether
     * anything changed.
     * @throws InvalidPolicyException when the directory itself cannot be read
     */
    Snapshot read(Path dir) {
        Objects.requireNonNull(dir, "dir must not be null");
        if (!Files.exists(dir)) {
            throw directoryProblem(dir + " does not exist; create it or point to the directory that holds the "
                    + "policy files");
        }
        if (!Files.isDirectory(dir)) {
            throw directoryProblem(dir + " is not a directory; point to the directory that holds the policy files, "
                    + "not to a file");
        }
        Path base = dir;
        Path data = dir.resolve(KUBERNETES_DATA_LINK);
        try {
            if (Files.isDirectory(data)) {
                requireOnlyLinksIntoData(dir);
                base = data.toRealPath();
            }
        } catch (IOException ex) {
            // The ..data link was swapped between the check and the resolution: read the directory as it is, the
            // next poll sees the new generation.
            base = dir;
        }
        List<String> names = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(base)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                if (Files.isDirectory(entry)) {
                    warnings.add("ignored subdirectory " + name + "/: policy files are read from " + dir
                            + " itself, not from its subdirectories");
                } else if (!name.endsWith(".yaml") && !name.endsWith(".yml")) {
                    warnings.add("ignored " + name + ": only files named *.yaml or *.yml are read as policy files");
                } else {
                    names.add(name);
                }
            }
        } catch (IOException ex) {
            throw directoryProblem("cannot list " + dir + " (" + ex.getClass().getSimpleName() + "); check that the "
                    + "broker's user may read it");
        }
        names.sort(null);
        warnings.sort(null);
        if (names.size() > MAX_FILES) {
            throw directoryProblem(dir + " holds " + names.size() + " policy files; at most " + MAX_FILES
                    + " are read: merge files");
        }
        Map<String, byte[]> contents = new LinkedHashMap<>();
        List<PolicyError> errors = new ArrayList<>();
        for (String name : names) {
            Path file = base.resolve(name);
            try (InputStream in = Files.newInputStream(file)) {
                byte[] bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
                if (bytes.length > MAX_FILE_BYTES) {
                    errors.add(new PolicyError(name, 0, "", "the file is larger than " + MAX_FILE_BYTES + " bytes "
                            + "(1 MiB), the limit for a policy file; split it into several files"));
                } else {
                    contents.put(name, bytes);
                }
            } catch (IOException ex) {
                errors.add(new PolicyError(name, 0, "", "cannot read the file (" + ex.getClass().getSimpleName()
                        + "); check that it is a readable file and not a broken link"));
            }
        }
        if (names.isEmpty()) {
            warnings.add("no policy files (*.yaml, *.yml) in " + dir + ": every request is denied");
        }
        return new Snapshot(dir, contents, warnings, errors, digest(contents, errors));
    }

    /**
     * Parses and validates a snapshot.
     * @throws InvalidPolicyException with every problem found
     */
    PolicySet compile(Snapshot snapshot) {
        List<PolicyError> errors = new ArrayList<>(snapshot.errors());
        List<String> warnings = new ArrayList<>(snapshot.warnings());
        List<PolicyDocument> documents = new ArrayList<>();
        List<PolicyParser.IdentityOccurrence> identities = new ArrayList<>();
        for (Map.Entry<String, byte[]> file : snapshot.files().entrySet()) {
            PolicyDocument document = parser.parse(file.getKey(), file.getValue(), errors, warnings, identities);
            if (document != null) {
                documents.add(document);
            }
        }
        checkDuplicateIdentities(identities, errors);
        if (!errors.isEmpty()) {
            throw new InvalidPolicyException(errors);
        }
        return new PolicySet(documents, warnings, snapshot.digest());
    }

    /** One identity pattern, one entry: two entries for the same caller would make application and limit ambiguous. */
    private static void checkDuplicateIdentities(List<PolicyParser.IdentityOccurrence> identities,
            List<PolicyError> errors) {
        Map<String, PolicyParser.IdentityOccurrence> seen = new LinkedHashMap<>();
        for (PolicyParser.IdentityOccurrence here : identities) {
            PolicyParser.IdentityOccurrence first = seen.putIfAbsent(here.identity(), here);
            if (first != null) {
                String where = first.file().equals(here.file()) ? "line " + first.line() + " of this file"
                        : first.file() + " line " + first.line();
                errors.add(new PolicyError(here.file(), here.line(), "spec.workloads[" + here.index() + "].identity",
                        "identity " + here.identity() + " already has a workload entry in " + where
                                + " (spec.workloads[" + first.index() + "]); an identity may have only one entry "
                                + "across all policy files: merge the allow rules of both entries into one"));
            }
        }
    }

    private static InvalidPolicyException directoryProblem(String problem) {
        return new InvalidPolicyException(List.of(new PolicyError("", 0, "", problem)));
    }

    private static String digest(Map<String, byte[]> contents, List<PolicyError> errors) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is not available", ex);
        }
        for (Map.Entry<String, byte[]> file : contents.entrySet()) {
            sha.update(file.getKey().getBytes(StandardCharsets.UTF_8));
            sha.update(ByteBuffer.allocate(9).put((byte) 0).putLong(file.getValue().length).array());
            sha.update(file.getValue());
        }
        for (PolicyError error : errors) {
            sha.update(error.toString().getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * The raw content of a policy directory at one moment.
     *
     * @param dir the directory
     * @param files file name to content, in name order
     * @param warnings skipped files and the like
     * @param errors files that could not be read
     * @param digest SHA-256 over names, contents and read errors
     */
    record Snapshot(Path dir, Map<String, byte[]> files, List<String> warnings, List<PolicyError> errors,
            String digest) {
    }
}
