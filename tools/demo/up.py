"""`./dev up` / `./dev down`: the five services on their default ports,
left running, with state under var/ (SQLite files, recordings, the local
HS256 key and the sample policy)."""

import argparse
import os
import sys

import stack as stack_lib


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--var_dir", default="var")
    args = parser.parse_args(argv)
    if args.command == "down":
        stopped = stack_lib.stop_recorded(args.var_dir)
        print("stopped: " + (", ".join(stopped) or "nothing was running"))
        return 0
    if os.path.exists(os.path.join(args.var_dir, "run", "stack.json")):
        print("a stack is already up (%s); ./dev down first" %
              os.path.join(args.var_dir, "run", "stack.json"))
        return 1
    print("Starting Sotto on loopback (state in %s):" %
          os.path.abspath(args.var_dir))
    stack = stack_lib.Stack(args.var_dir, fixed_ports=True, log=print)
    try:
        stack.start(detach=True)
    except Exception:
        stack.stop()
        raise
    print("\nTokens for tenant acme, valid 8 h (paste these lines):")
    print("  export SOTTO_LEAD_TOKEN=" +
          stack.token("lead-1", ["team_lead"], ["team-a"]) +
          "   # team lead of team-a: supervises")
    print("  export SOTTO_INTEGRATOR_TOKEN=" +
          stack.token("pbx-1", ["integrator"]) + "   # registers calls")
    print("  export SOTTO_TOKEN=$SOTTO_LEAD_TOKEN   # what sottoctl sends")
    print("\nThe broker's API is at 127.0.0.1:7100 (sottoctl's default). "
          "Logs: %s. Stop with ./dev down." %
          os.path.join(os.path.abspath(args.var_dir), "logs"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
