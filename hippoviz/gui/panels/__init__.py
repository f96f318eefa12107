"""The panels around the views: the simulation toolbar, the parameter and environment panels
(every change goes out as a typed command through :meth:`hippoviz.runtime.DataSource.command`),
the welcome panel and the message dialogs."""
