"""The gunicorn config file reader: `python -m cask_worker.gunicorn_conf LOCATION` runs the
file as gunicorn does and prints its settings as JSON for the front."""

import json
import os
import subprocess
import tempfile
import textwrap
import unittest

from tests.linkclient import PYTHON_DIR
from tests.test_worker import PYTHON
from cask_worker import gunicorn_conf as g


def run_reader(*args, cwd=None, env=None):
    full_env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    full_env.update(env or {})
    return subprocess.run(
        [PYTHON, "-m", "cask_worker.gunicorn_conf"] + list(args),
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=30,
    )


class ReaderTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as out:
            out.write(textwrap.dedent(text))
        return path

    def test_module_level_settings_are_printed_as_json_after_the_file_ran(self):
        self.write("gunicorn.conf.py", """
            import multiprocessing
            bind = ["127.0.0.1:9000", "unix:/tmp/app.sock"]
            workers = multiprocessing.cpu_count() * 0 + 3
            threads = 2
            timeout = 60.5
            preload_app = True
            raw_env = ("A=1",)
            secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
            _private = 1
            print("the file may print")
        """)
        result = run_reader("gunicorn.conf.py", cwd=self.dir.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual(out["file"], os.path.join(os.path.realpath(self.dir.name), "gunicorn.conf.py"))
        settings = out["settings"]
        self.assertEqual(settings["bind"], ["127.0.0.1:9000", "unix:/tmp/app.sock"])
        self.assertEqual(settings["workers"], 3)
        self.assertEqual(settings["timeout"], 60.5)
        self.assertIs(settings["preload_app"], True)
        self.assertEqual(settings["raw_env"], ["A=1"])
        self.assertEqual(settings["secure_scheme_headers"], {"X-FORWARDED-PROTO": "https"})
        self.assertNotIn("_private", settings)
        self.assertNotIn("multiprocessing", settings)
        self.assertIn("the file may print", result.stderr)

    def test_hooks_and_classes_are_named_and_other_objects_are_described(self):
        self.write("conf.py", """
            class Custom:
                pass
            def post_fork(server, worker):
                pass
            worker_class = Custom
            marker = object()
        """)
        out = json.loads(run_reader("conf.py", cwd=self.dir.name).stdout)
        self.assertEqual(out["settings"]["post_fork"], {"$callable": "post_fork"})
        self.assertEqual(out["settings"]["worker_class"], {"$callable": "Custom"})
        self.assertTrue(out["settings"]["marker"]["$repr"].startswith("<object object"))

    def test_the_working_directory_is_first_on_sys_path_as_in_gunicorn(self):
        self.write("shared_settings.py", "WORKERS = 5\n")
        self.write("gunicorn.conf.py", "from shared_settings import WORKERS\nworkers = WORKERS\n")
        out = json.loads(run_reader("--chdir", self.dir.name, "gunicorn.conf.py").stdout)
        self.assertEqual(out["settings"]["workers"], 5)

    def test_a_file_of_any_name_and_file_prefix_are_read_as_python(self):
        self.write("gunicorn.conf", "workers = 2\n")
        out = json.loads(run_reader("file:gunicorn.conf", cwd=self.dir.name).stdout)
        self.assertEqual(out["settings"]["workers"], 2)

    def test_python_prefix_imports_a_module(self):
        self.write("deploy_conf.py", "workers = 7\n")
        out = json.loads(run_reader("python:deploy_conf", cwd=self.dir.name).stdout)
        self.assertIsNone(out["file"])
        self.assertEqual(out["module"], "deploy_conf")
        self.assertEqual(out["settings"]["workers"], 7)

    def test_environment_changes_made_by_the_file_are_reported(self):
        self.write("gunicorn.conf.py", """
            import os
            os.environ["DJANGO_SETTINGS_MODULE"] = "site.settings"
            os.environ.pop("REMOVE_ME", None)
        """)
        out = json.loads(run_reader("gunicorn.conf.py", cwd=self.dir.name,
                                    env={"REMOVE_ME": "x"}).stdout)
        self.assertEqual(out["env"], {"DJANGO_SETTINGS_MODULE": "site.settings", "REMOVE_ME": None})

    def test_a_missing_file_exits_2_and_a_raising_one_3_with_its_traceback(self):
        missing = run_reader("nope.py", cwd=self.dir.name)
        self.assertEqual(missing.returncode, g.EXIT_MISSING)
        self.assertIn("no such file", missing.stderr)
        self.write("broken.py", "workers = 1 / 0\n")
        broken = run_reader("broken.py", cwd=self.dir.name)
        self.assertEqual(broken.returncode, g.EXIT_RAISED)
        self.assertIn("ZeroDivisionError", broken.stderr)
        self.assertEqual(broken.stdout, "")


class EncodeTests(unittest.TestCase):
    def test_tuples_become_lists_and_nested_values_are_kept(self):
        self.assertEqual(g.encode(("a", (1, 2), {"k": None})), ["a", [1, 2], {"k": None}])

    def test_a_dict_with_other_keys_is_described(self):
        self.assertIn("$repr", g.encode({1: "x"}))


if __name__ == "__main__":
    unittest.main()
