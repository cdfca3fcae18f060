//! Recurrent layers through time: not written yet (`supported` refuses them with a
//! `TrainError`, and their gradient checks are listed as ignored tests).
