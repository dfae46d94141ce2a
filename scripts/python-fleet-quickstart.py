#!/usr/bin/env python3
"""Walk python-fleet 0.1.3's README quick start against a fleet API endpoint.

Usage: python-fleet-quickstart.py ENDPOINT [UNIT_PREFIX]

ENDPOINT is what python-fleet's Client takes: http://127.0.0.1:PORT or
http+unix://%2Fpath%2Fto%2Ffleet.sock. Every step of the quick start is done and its result
checked; the script prints one line per step and exits 0 only if all of them held.
Unit names get UNIT_PREFIX (default "quickstart") so runs against one server do not collide.
"""

from __future__ import print_function

import sys
import tempfile
import time

import fleet.v1 as fleet


def check(cond, what):
    if not cond:
        print('FAIL: ' + what)
        raise SystemExit(1)
    print('ok: ' + what)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    endpoint = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else 'quickstart'

    # Create a client (discovery document fetched and parsed).
    try:
        client = fleet.Client(endpoint)
    except ValueError as exc:
        print('FAIL: unable to discover fleet: {0}'.format(exc))
        return 1
    print('ok: client created for ' + endpoint)

    # Create units, in each way the README shows.
    unit = fleet.Unit()
    unit.add_option('Service', 'ExecStart', '/usr/bin/sleep 1d')
    check(len(unit.options) == 1, 'unit built with add_option')

    unit2 = fleet.Unit(options=[{'section': 'Service', 'name': 'ExecStart', 'value': '/usr/bin/sleep 1d'}])
    check(unit2.options == unit.options, 'unit built from a list of options')

    unit3 = fleet.Unit(from_string="[Service]\nExecStart=/usr/bin/sleep 1d")
    check(unit3.options == unit.options, 'unit built from a string')

    with tempfile.NamedTemporaryFile('w', suffix='.service', delete=False) as fh:
        fh.write('[Unit]\nDescription=from a file\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n')
        path = fh.name
    unit4 = fleet.Unit(from_file=path)
    check(len(unit4.options) == 2, 'unit built from a file')

    name = prefix + '-foo.service'
    try:
        created = client.create_unit(name, unit)
    except fleet.APIError as exc:
        print('FAIL: unable to create unit: {0}'.format(exc))
        return 1
    check(created.name == name, 'create_unit returned the unit')
    check(created.desiredState == 'launched', 'a new unit is launched by default')

    file_name = prefix + '-fromfile.service'
    client.create_unit(file_name, unit4)

    # Modify the desired state.
    created.set_desired_state('inactive')
    check(client.get_unit(name).desiredState == 'inactive', 'set_desired_state(inactive) stored')
    # python-fleet 0.1.3 cannot change the same Unit object twice (its second
    # set_desired_state raises AttributeError), so take a fresh one from the cluster.
    client.get_unit(name).set_desired_state('launched')
    check(client.get_unit(name).desiredState == 'launched', 'set_desired_state(launched) stored')

    # Wait (bounded) until fleet reports the unit launched.
    deadline = time.time() + 10
    while client.get_unit(name).currentState != 'launched':
        if time.time() > deadline:
            print('FAIL: unit never reached currentState launched')
            return 1
        time.sleep(0.05)
    print('ok: unit reached currentState launched')

    # List units.
    names = [u.name for u in client.list_units()]
    check(name in names and file_name in names, 'list_units yields the created units')

    # Get a unit, and a missing one (APIError with code 404).
    got = client.get_unit(name)
    check(got.name == name and got.options == unit.options, 'get_unit returns the unit')
    try:
        client.get_unit(prefix + '-missing.service')
        print('FAIL: get_unit of a missing unit did not raise')
        return 1
    except fleet.APIError as exc:
        check(exc.code == 404, 'get_unit of a missing unit raises APIError 404')

    # List unit states.
    states = [s for s in client.list_unit_states() if s.name == name]
    check(len(states) == 1 and states[0].systemdSubState == 'running',
          'list_unit_states shows the unit running')

    # List machines.
    machines = list(client.list_machines())
    check(len(machines) >= 1 and all(m.id and m.primaryIP for m in machines),
          'list_machines yields machines with id and primaryIP')

    # Destroy the units again.
    check(created.destroy() is True, 'destroy() deleted the unit')
    check(client.destroy_unit(file_name) is True, 'destroy_unit deleted the other unit')
    names = [u.name for u in client.list_units()]
    check(name not in names and file_name not in names, 'the units are gone from list_units')

    print('quick start passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
