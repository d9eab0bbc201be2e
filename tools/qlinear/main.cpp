// qlinear: inspect the platform and the kernel registry, choose kernels, check them.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <new>

#include "commands.hpp"
#include "qlinear/error.hpp"

int main(int argc, char** argv) {
  // Output into a closed pipe (`qlinear inspect | head`) is a failed write, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "qlinear: quantized linear-layer kernels (env, kernels, select, check, bench, tune, run, "
      "inspect)"};
  app.require_subcommand(1);
  int exit_code = 0;
  qlinear::tool::add_env(app, exit_code);
  qlinear::tool::add_kernels(app, exit_code);
  qlinear::tool::add_select(app, exit_code);
  qlinear::tool::add_check(app, exit_code);
  qlinear::tool::add_bench(app, exit_code);
  qlinear::tool::add_tune(app, exit_code);
  qlinear::tool::add_run(app, exit_code);
  qlinear::tool::add_inspect(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const qlinear::Error& e) {
    std::cerr << "qlinear: " << e.what() << "\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "qlinear: " << e.what() << "\n";  // names the paths and the system's reason
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "qlinear: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    // Any other exception is a bug of qlinear's checks; still one message and no terminate().
    std::cerr << "qlinear: unexpected error: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
