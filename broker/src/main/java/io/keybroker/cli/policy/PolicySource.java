package io.keybroker.cli.policy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * A policy to review, given on the command line either as a directory or as a directory at a git revision,
 * {@code REV:PATH} ({@code HEAD~1:policy/}, {@code origin/main:policy}), the syntax of {@code git show}. A
 * revision's files are read with {@code git ls-tree} and {@code git cat-file} into a temporary directory, which the
 * broker's own {@link io.keybroker.policy.PolicyLoader} then reads like any other: nothing is checked out, the work
 * tree is not touched. {@link #close()} removes the temporary copy.
 *
 * @param label the argument as given, for messages
 * @param directory the directory to load
 * @param temporary whether {@code directory} is a temporary copy to delete
 */
record PolicySource(String label, Path directory, boolean temporary) implements AutoCloseable {

    /** A problem with the argument or with git, with what to do about it. */
    static final class SourceException extends Exception {

        SourceException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * An existing directory is read as it is; otherwise an argument with a ':' is a git revision read from the
     * repository {@code repo}; anything else is a directory the loader reports as missing.
     */
    static PolicySource resolve(String argument, Path repo) throws SourceException {
        Path path = Path.of(argument);
        int colon = argument.indexOf(':');
        if (Files.isDirectory(path) || colon < 0) {
            return new PolicySource(argument, path, false);
        }
        String revision = argument.substring(0, colon);
        String dir = argument.substring(colon + 1);
        if (revision.isEmpty()) {
            throw new SourceException(argument + ": no revision before ':'; write REV:PATH, e.g. HEAD~1:policy/");
        }
        String tree = revision + ":" + stripSlashes(dir);
        byte[] listing = git(repo, argument, "ls-tree", "-z", tree);
        Path copy;
        try {
            copy = Files.createTempDirectory("keybroker-policy-");
        } catch (IOException ex) {
            throw new SourceException("cannot create a temporary directory for " + argument + " (" + ex.getMessage()
                    + "); check java.io.tmpdir");
        }
        PolicySource source = new PolicySource(argument, copy, true);
        try {
            for (String entry : new String(listing, StandardCharsets.UTF_8).split("\0")) {
                if (entry.isEmpty()) {
                    continue;
                }
                // <mode> SP <type> SP <object> TAB <name>
                int tab = entry.indexOf('\t');
                String[] meta = entry.substring(0, tab).split(" ");
                String name = entry.substring(tab + 1);
                Path target = copy.resolve(name);
                if (!target.normalize().getParent().equals(copy)) {
                    continue; // a name git itself would never write; never leave the copy
                }
                switch (meta[1]) {
                    // The loader warns about subdirectories; an empty one keeps that warning.
                    case "tree" -> Files.createDirectory(target);
                    case "blob" -> {
                        // A symbolic link (mode 120000) is left out: its blob is the link's target, not a policy.
                        if (!"120000".equals(meta[0])) {
                            Files.write(target, git(repo, argument, "cat-file", "blob", meta[2]));
                        }
                    }
                    default -> { } // a submodule: not a policy file
                }
            }
        } catch (IOException ex) {
            source.close();
            throw new SourceException("cannot copy " + argument + " to " + copy + " (" + ex.getMessage() + ")");
        } catch (SourceException ex) {
            source.close();
            throw ex;
        }
        return source;
    }

    private static String stripSlashes(String dir) {
        String d = dir;
        while (d.endsWith("/") && d.length() > 1) {
            d = d.substring(0, d.length() - 1);
        }
        return "/".equals(d) ? "" : d;
    }

    /** Runs git in {@code repo}; its standard output, or its error message as a SourceException. */
    private static byte[] git(Path repo, String argument, String... args) throws SourceException {
        List<String> command = new ArrayList<>(List.of("git", "-C", repo.toString()));
        command.addAll(List.of(args));
        Process process;
        try {
            process = new ProcessBuilder(command).start();
            process.getOutputStream().close();
        } catch (IOException ex) {
            throw new SourceException(argument + " looks like a git revision (REV:PATH), but git cannot be run ("
                    + ex.getMessage() + "); install git, or give a directory");
        }
        // Both streams are read at once so that neither can fill its pipe and stall git.
        CompletableFuture<byte[]> errors = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
        byte[] output = readAll(process.getInputStream());
        try {
            int status = process.waitFor();
            if (status != 0) {
                String message = new String(errors.get(), StandardCharsets.UTF_8).strip().replace('\n', ' ');
                throw new SourceException(argument + ": git cannot read it (" + message + "); write REV:PATH with a "
                        + "revision of the repository in " + repo.toAbsolutePath().normalize() + " and the "
                        + "policy directory's path from the repository's top, e.g. HEAD~1:policy/ or "
                        + "origin/main:policy/, or give an existing directory");
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new SourceException("interrupted while reading " + argument);
        } catch (ExecutionException ex) {
            throw new SourceException("cannot read git's messages for " + argument);
        }
        return output;
    }

    private static byte[] readAll(InputStream in) {
        try (in; ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Deletes the temporary copy of a revision; nothing for a directory given as it is. */
    @Override
    public void close() {
        if (!temporary) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ex) {
            // A temporary directory left behind is harmless; the review's result does not depend on it.
        }
    }
}
