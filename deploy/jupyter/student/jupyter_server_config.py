"""A student's server: the Assignment List (and Validate), none of the instructor's tools."""

c = get_config()  # noqa: F821 - provided by traitlets

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
}
