/**
 * @file FusionConfig.h
 * @author Seb Madgwick
 * @brief Library configuration.
 */

#ifndef FUSION_CONFIG_H
#define FUSION_CONFIG_H

//------------------------------------------------------------------------------
// Definitions

/**
 * @brief Uncomment this definition or add as a preprocessor definition to use
 * normal square root operations.
 */
//#define FUSION_USE_NORMAL_SQRT

/**
 * @brief Uncomment this definition or add as a preprocessor definition to
 * disable inline functions.
 */
//#define FUSION_NO_INLINE

#endif

//------------------------------------------------------------------------------
// End of file
