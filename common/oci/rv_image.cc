// rv-image: push a directory as an image layer, inspect or export images.
//
//   rv-image push-dir --registry R --repo tenant/app --tag T [--base REPO:TAG] [--cmd '["a","-b"]'] DIR
//   rv-image digest   --registry R --repo X --tag T          manifest digest (exit 3: not found)
//   rv-image label    --registry R --repo X --tag T --key K  a config label's value (exit 3: none)
//   rv-image export-oci --registry R --repo X --tag T DIR    OCI image layout for podman/skopeo
//   rv-image import-oci --registry R --repo X --tag T DIR    push such a layout back (verified)
//
// Every command takes --registry-ca FILE (https, the registry verified by that CA)
// and --registry-auth FILE (user:password, 0600), defaulting to $RV_REGISTRY_CA
// and $RV_REGISTRY_AUTH so scripts (scripts/stack-image) pass them through.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/oci/image_writer.h"

int main(int argc, char** argv) {
  CLI::App app{"rv-image: Rivendell OCI image tool"};
  app.require_subcommand(1);
  std::string registry, repo, tag = "latest", dir, key;
  rv::oci::PushDirOptions po;
  std::vector<std::string> labels;
  size_t chunk = 0;
  std::string ca_file, auth_file;
  if (const char* e = getenv("RV_REGISTRY_CA")) ca_file = e;
  if (const char* e = getenv("RV_REGISTRY_AUTH")) auth_file = e;
  auto common = [&](CLI::App* s) {
    s->add_option("--registry", registry, "registry host:port")->required();
    s->add_option("--registry-ca", ca_file, "CA file: reach the registry over https, verified by it ($RV_REGISTRY_CA)");
    s->add_option("--registry-auth", auth_file, "user:password file, 0600 ($RV_REGISTRY_AUTH)");
    s->add_option("--repo", repo, "repository, e.g. tenant/app")->required();
    s->add_option("--tag", tag, "tag");
  };
  auto* push = app.add_subcommand("push-dir", "push DIR as a layer on top of --base");
  common(push);
  push->add_option("--base", po.base, "base image REPO:TAG in the same registry");
  std::string entrypoint, cmd;
  push->add_option("--entrypoint", entrypoint, "entrypoint: a JSON array, or words split on spaces");
  push->add_option("--cmd", cmd, "cmd: a JSON array, or words split on spaces");
  push->add_option("--env", po.env, "K=V");
  push->add_option("--user", po.user, "uid[:gid]");
  push->add_option("--workdir", po.working_dir, "working directory");
  push->add_option("--port", po.exposed_ports, "exposed port, e.g. 8080/tcp");
  push->add_option("--label", labels, "K=V");
  push->add_option("--chunk", chunk, "upload in chunks of this many bytes (0: monolithic)");
  push->add_option("DIR", dir)->required();
  auto* dig = app.add_subcommand("digest", "print the manifest digest of REPO:TAG");
  common(dig);
  auto* lab = app.add_subcommand("label", "print a config label of REPO:TAG");
  common(lab);
  lab->add_option("--key", key)->required();
  auto* exp = app.add_subcommand("export-oci", "write REPO:TAG as an OCI image layout in DIR");
  common(exp);
  exp->add_option("DIR", dir)->required();
  auto* imp = app.add_subcommand("import-oci", "push the OCI image layout in DIR (as export-oci writes it) as REPO:TAG");
  common(imp);
  imp->add_option("DIR", dir)->required();
  CLI11_PARSE(app, argc, argv);

  rv::oci::RegistryClient::Options ro;
  ro.registry = registry;
  ro.chunk_bytes = chunk;
  ro.ca_file = ca_file;
  ro.auth_file = auth_file;
  rv::oci::RegistryClient c(ro);
  auto fail = [](const rv::Status& s) {
    std::cerr << "rv-image: " << s.ToString() << "\n";
    return s.code() == rv::Status::Code::kNotFound ? 3 : 1;
  };
  if (push->parsed()) {
    po.repo = repo;
    po.tag = tag;
    for (auto [src, dst] : {std::pair{&entrypoint, &po.entrypoint}, std::pair{&cmd, &po.cmd}}) {
      if (src->empty()) continue;
      if ((*src)[0] == '[') {
        auto j = nlohmann::json::parse(*src, nullptr, false);
        if (!j.is_array()) return fail(rv::Status::Invalid("--cmd/--entrypoint: not a JSON array"));
        for (auto& a : j) {
          if (!a.is_string()) return fail(rv::Status::Invalid("--cmd/--entrypoint: array of strings expected"));
          dst->push_back(a.get<std::string>());
        }
      } else {
        std::istringstream in(*src);
        std::string w;
        while (in >> w) dst->push_back(w);
      }
    }
    for (const auto& l : labels) {
      auto eq = l.find('=');
      if (eq == std::string::npos) return fail(rv::Status::Invalid("label must be K=V"));
      po.labels[l.substr(0, eq)] = l.substr(eq + 1);
    }
    if (const char* t = getenv("TMPDIR")) po.tmp_dir = t;
    auto r = rv::oci::PushDir(c, dir, po);
    if (!r.ok()) return fail(r.status());
    std::cout << r->manifest_digest << "\n";
    std::cerr << "layer " << r->layer.digest << " (" << r->layer.size << " bytes, " << r->layer.entries
              << " entries), uploaded " << r->uploaded_blobs << " blobs\n";
    return 0;
  }
  if (exp->parsed()) {
    auto s = rv::oci::ExportOciLayout(c, repo, tag, dir, tag);
    return s.ok() ? 0 : fail(s);
  }
  if (imp->parsed()) {
    auto d = rv::oci::ImportOciLayout(c, dir, repo, tag);
    if (!d.ok()) return fail(d.status());
    std::cout << *d << "\n";
    return 0;
  }
  auto img = rv::oci::ResolveImage(c, repo, tag);
  if (!img.ok()) return fail(img.status());
  if (dig->parsed()) {
    std::cout << img->manifest_digest << "\n";
    return 0;
  }
  auto it = img->config.labels.find(key);
  if (it == img->config.labels.end()) return 3;
  std::cout << it->second << "\n";
  return 0;
}
