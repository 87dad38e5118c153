-- Temporal keeps its own databases beside ProctorFlow's, on the same PostgreSQL server.
CREATE DATABASE temporal OWNER proctorflow;
CREATE DATABASE temporal_visibility OWNER proctorflow;
