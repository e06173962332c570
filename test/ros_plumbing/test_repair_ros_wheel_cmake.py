import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "repair_ros_wheel_cmake.py"
spec = importlib.util.spec_from_file_location("repair_ros_wheel_cmake", SCRIPT)
repair = importlib.util.module_from_spec(spec)
spec.loader.exec_module(repair)


def test_builder_paths_are_rewritten_to_this_environment(tmp_path):
    cmake_dir = tmp_path / "share" / "std_msgs" / "cmake"
    cmake_dir.mkdir(parents=True)
    exported = cmake_dir / "export_std_msgs__rosidl_generator_pyExport.cmake"
    exported.write_text(
        'INTERFACE_INCLUDE_DIRECTORIES "/opt/python/cp311-cp311/include/python3.11;'
        '/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"\n'
    )
    index = tmp_path / "share" / "ament_index" / "resource_index" / "parent_prefix_path"
    index.mkdir(parents=True)
    (index / "std_msgs").write_text("/opt/python/cp311-cp311")

    changed = repair.repair_tree(tmp_path)

    assert len(changed) == 2
    text = exported.read_text()
    assert "/opt/python" not in text
    assert repair.numpy.get_include() in text
    assert repair.sysconfig.get_paths()["include"] in text
    assert (index / "std_msgs").read_text() == str(tmp_path)
    assert repair.repair_tree(tmp_path) == []  # idempotent
