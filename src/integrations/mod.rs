//! Outside services, each in one place: Google Calendar (OAuth code flow, token refresh,
//! the Calendar API), Twilio (sending texts, webhook signatures) and SMTP. Every client takes
//! a base URL from the settings, so tests point it at a loopback fake of the real protocol.

pub mod google;
pub mod smtp;
pub mod twilio;
