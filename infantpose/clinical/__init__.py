"""What clinicians and biomechanics tools read from a recording's 3D: joint angles, speeds and
features (``kinematics``), the ``analyze`` command (``analysis``), motion-capture files
(``mocap``: TRC, C3D, MOT) and the HTML report and 3D viewer (``report``). numpy only."""
